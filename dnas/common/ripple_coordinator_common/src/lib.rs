//! Read helpers shared by Ripple Mesh's coordinator zomes. Plain `get`/`get_links` also return
//! records and links the network rejected (DESIGN.md, "Rogue data is returned unless you filter
//! it"), so every read here keeps only what validated.
use hdk::prelude::*;
use std::cell::Cell;
use std::collections::HashSet;

thread_local! {
    /// What the reads of the current zome call touched (see `measure_reads`).
    static READS: Cell<ReadCost> = const { Cell::new(ReadCost { link_queries: 0, links: 0, records: 0 }) };
}

/// What a read touched: its `get_links` calls, the links they returned and the records fetched.
/// A periodic read whose counts grow with the DHT's history gets slower the longer a mesh runs.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadCost {
    pub link_queries: u32,
    pub links: u32,
    pub records: u32,
}

/// Runs `read` and counts what it touched through this crate's helpers.
pub fn measure_reads<T>(read: impl FnOnce() -> ExternResult<T>) -> ExternResult<(T, ReadCost)> {
    READS.with(|r| r.set(ReadCost::default()));
    let out = read()?;
    Ok((out, READS.with(|r| r.get())))
}

fn count_reads(link_queries: u32, links: usize, records: u32) {
    READS.with(|r| {
        let c = r.get();
        let links = u32::try_from(links).unwrap_or(u32::MAX);
        r.set(ReadCost { link_queries: c.link_queries + link_queries, links: c.links.saturating_add(links), records: c.records + records });
    });
}

/// A record as readers see it: hash, author, time and typed content.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Found<T> {
    pub action_hash: ActionHash,
    pub author: AgentPubKey,
    pub timestamp: Timestamp,
    pub entry: T,
}

impl<T> Found<T> {
    pub fn new(action_hash: ActionHash, record: &Record, entry: T) -> Self {
        Found { action_hash, author: record.action().author().clone(), timestamp: record.action().timestamp(), entry }
    }
}

/// The record at `hash` and its entry as `T`, only if validated. This node's own judgement comes
/// first: asked over the network, whichever authority answers reports the status, and a rogue
/// authority can call its own forgery Valid. Only a record this node does not hold is taken from
/// the network (in our meshes every node holds the full arc, so that is a window before gossip).
pub fn get_valid_entry<T>(hash: ActionHash) -> ExternResult<Option<(Record, T)>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    count_reads(0, 0, 1);
    let details = match get_details(hash.clone(), GetOptions::local())? {
        Some(local) => Some(local),
        None => get_details(hash, GetOptions::network())?,
    };
    let Some(Details::Record(details)) = details else {
        return Ok(None);
    };
    if details.validation_status != ValidationStatus::Valid {
        return Ok(None);
    }
    let Ok(Some(entry)) = details.record.entry().to_app_option::<T>() else {
        return Ok(None);
    };
    Ok(Some((details.record, entry)))
}

/// `get_valid_entry` as a `Found`.
pub fn get_valid<T>(hash: ActionHash) -> ExternResult<Option<Found<T>>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    Ok(get_valid_entry::<T>(hash.clone())?.map(|(record, entry)| Found::new(hash, &record, entry)))
}

/// How this node itself judged a record: Valid, Rejected or Abandoned (`None` until it holds
/// it). Local only, so a rogue authority's answer never stands in for it. A diagnostic: tests use
/// it to see that every honest node marked rogue data Rejected.
pub fn validation_status_of(hash: ActionHash) -> ExternResult<Option<ValidationStatus>> {
    Ok(match get_details(hash, GetOptions::local())? {
        Some(Details::Record(details)) => Some(details.validation_status),
        _ => None,
    })
}

/// Order links newest first (ties broken by the link's create hash), so every node reads alike.
pub fn sort_newest_first(links: &mut [Link]) {
    links.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| a.create_link_hash.get_raw_39().cmp(b.create_link_hash.get_raw_39())));
}

/// Links from `base` of `link_type`, newest first.
pub fn links_newest_first(base: impl Into<AnyLinkableHash>, link_type: impl LinkTypeFilterExt) -> ExternResult<Vec<Link>> {
    links_newest_first_by(base, link_type, GetStrategy::Network)
}

/// `links_newest_first` with a chosen strategy: `Local` answers from this node's own store at once,
/// where a network read can wait out a timeout on a peer that died but is still in the peer store.
pub fn links_newest_first_by(base: impl Into<AnyLinkableHash>, link_type: impl LinkTypeFilterExt, strategy: GetStrategy) -> ExternResult<Vec<Link>> {
    read_links(LinkQuery::new(base.into(), link_type.try_into_filter()?), strategy)
}

fn read_links(query: LinkQuery, strategy: GetStrategy) -> ExternResult<Vec<Link>> {
    let mut links = get_links(query, strategy)?;
    count_reads(1, links.len(), 0);
    sort_newest_first(&mut links);
    Ok(links)
}

/// The valid `T` records linked from `base` by `link_type`, newest first.
pub fn linked_valid<T>(base: impl Into<AnyLinkableHash>, link_type: impl LinkTypeFilterExt) -> ExternResult<Vec<Found<T>>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    linked_valid_where(base, link_type, |_| Ok(true))
}

/// `linked_valid` over the links created after `after` only: a read that the links of records over
/// by construction (an allocation lapses at most 7 days after it is written) do not grow.
pub fn linked_valid_since<T>(base: impl Into<AnyLinkableHash>, link_type: impl LinkTypeFilterExt, after: Timestamp) -> ExternResult<Vec<Found<T>>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    let mut query = LinkQuery::new(base.into(), link_type.try_into_filter()?);
    query.after = Some(after);
    valid_targets(read_links(query, GetStrategy::Network)?, |_| Ok(true))
}

/// `linked_valid`, keeping only the records `keep` accepts (see `entry_rules_hold`).
pub fn linked_valid_where<T>(base: impl Into<AnyLinkableHash>, link_type: impl LinkTypeFilterExt, keep: impl Fn(&Found<T>) -> ExternResult<bool>) -> ExternResult<Vec<Found<T>>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    valid_targets(links_newest_first(base, link_type)?, keep)
}

/// The valid `T` records `links` point at, in the links' order, that `keep` accepts.
fn valid_targets<T>(links: Vec<Link>, keep: impl Fn(&Found<T>) -> ExternResult<bool>) -> ExternResult<Vec<Found<T>>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    let mut found = Vec::new();
    for link in links {
        let Some(hash) = link.target.into_action_hash() else { continue };
        if let Some(record) = get_valid::<T>(hash)? {
            if keep(&record)? {
                found.push(record);
            }
        }
    }
    Ok(found)
}

/// The newest valid `T` among `links` (newest first) that was written by `author` and that `keep`
/// accepts (see `entry_rules_hold`).
pub fn newest_valid_by<T>(links: &[Link], author: &AgentPubKey, keep: impl Fn(&Found<T>) -> ExternResult<bool>) -> ExternResult<Option<Found<T>>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    for link in links.iter().filter(|l| &l.author == author) {
        let Some(hash) = link.target.clone().into_action_hash() else { continue };
        if let Some(found) = get_valid::<T>(hash)? {
            if &found.author == author && keep(&found)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

/// Re-apply an entry's own validation rule on read. A node that does not yet hold a record takes
/// its validation status from whichever authority answers, and caches it: a rogue authority can
/// report its own forgery as Valid (seen here with a capability in another agent's name). Rules
/// that need only the record itself are cheap to check again, so honest reads do.
pub fn entry_rules_hold(verdict: ExternResult<ValidateCallbackResult>) -> ExternResult<bool> {
    Ok(matches!(verdict?, ValidateCallbackResult::Valid))
}

/// The link authors of `links`, in a stable order (by key bytes), each once.
pub fn link_authors(links: &[Link]) -> Vec<AgentPubKey> {
    let mut seen = HashSet::new();
    let mut authors: Vec<AgentPubKey> = links.iter().filter(|l| seen.insert(l.author.clone())).map(|l| l.author.clone()).collect();
    authors.sort_by(|a, b| a.get_raw_39().cmp(b.get_raw_39()));
    authors
}
