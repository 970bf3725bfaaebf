//! [`TestHdi`]: the in-memory host (records, zome types, signatures) and its record/op builders.
use crate::*;
use ed25519_dalek::{Verifier, VerifyingKey};
use hdi::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

mod hdi_impl;
mod updates;

// --- the HDI ------------------------------------------------------------------------------

#[derive(Default)]
struct State {
    zome_types: ScopedZomeTypesSet,
    zome_id: u8,
    records: HashMap<ActionHash, Record>,
    /// Stored but not valid: `must_get_action`/`must_get_entry` find them,
    /// `must_get_valid_record` does not (as for a record the DHT rejected).
    rejected: HashMap<ActionHash, Record>,
    entries: HashMap<EntryHash, Entry>,
    /// Per agent: the next action_seq and the previous action's hash.
    chains: HashMap<AgentPubKey, (u32, ActionHash)>,
}

/// An in-memory HDI; cheap to clone (clones share the store), so a test keeps one handle
/// and installs another with [`TestHdi::install`].
#[derive(Clone, Default)]
pub struct TestHdi(Arc<Mutex<State>>);

/// Builds a [`TestHdi`] with the given entry and link zome types and installs it with
/// `set_hdi`; the arguments mean what they mean for `hdi::test_utils::set_zome_types`:
/// `(zome_index, number_of_types)` for every zome in scope.
pub fn install_test_hdi(entries: &[(u8, u8)], links: &[(u8, u8)]) -> TestHdi {
    let hdi = TestHdi::new(entries, links);
    hdi.install();
    hdi
}

impl TestHdi {
    pub fn new(entries: &[(u8, u8)], links: &[(u8, u8)]) -> Self {
        let state = State {
            zome_types: ScopedZomeTypesSet {
                entries: ScopedZomeTypes(
                    entries
                        .iter()
                        .map(|(z, n)| (ZomeIndex(*z), (0..*n).map(EntryDefIndex).collect()))
                        .collect(),
                ),
                links: ScopedZomeTypes(
                    links
                        .iter()
                        .map(|(z, n)| (ZomeIndex(*z), (0..*n).map(LinkType).collect()))
                        .collect(),
                ),
            },
            zome_id: entries.first().or(links.first()).map_or(0, |(z, _)| *z),
            ..State::default()
        };
        Self(Arc::new(Mutex::new(state)))
    }

    /// For one integrity zome at `zome_index`, with as many types as the zome's unit entry
    /// enum `E` and link enum `L` have (`install_for::<UnitEntryTypes, LinkTypes>(0)`), so
    /// the counts follow the zome when it gains types.
    pub fn install_for<E: EnumLen, L: EnumLen>(zome_index: u8) -> Self {
        install_test_hdi(&[(zome_index, E::ENUM_LEN)], &[(zome_index, L::ENUM_LEN)])
    }

    /// Makes this the HDI of the current thread (what `must_get_*`, `zome_info`, … call).
    pub fn install(&self) {
        set_hdi(self.clone());
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // -- the store --

    /// Stores a valid record (and its entry, if any); returns its action hash.
    pub fn store(&self, record: Record) -> ActionHash {
        self.put(record, true)
    }

    /// Stores a record the network judged invalid: `must_get_action` and `must_get_entry`
    /// return it, `must_get_valid_record` does not.
    pub fn store_rejected(&self, record: Record) -> ActionHash {
        self.put(record, false)
    }

    /// Stores `record` (and its entry, if any) as valid or as rejected, and not as the other.
    fn put(&self, record: Record, valid: bool) -> ActionHash {
        let hash = record.action_address().clone();
        let mut state = self.state();
        if let (Some(entry_hash), Some(entry)) = (record.action().entry_hash(), record.entry().as_option()) {
            state.entries.insert(entry_hash.clone(), entry.clone());
        }
        let State { records, rejected, .. } = &mut *state;
        let (into, out_of) = if valid { (records, rejected) } else { (rejected, records) };
        out_of.remove(&hash);
        into.insert(hash.clone(), record);
        hash
    }

    /// Stores a bare entry (for `must_get_entry`).
    pub fn store_entry(&self, entry: Entry) -> EntryHash {
        let hash = EntryHash::with_data_sync(&entry);
        self.state().entries.insert(hash.clone(), entry);
        hash
    }

    /// Forgets a record (valid or rejected); returns it if it was stored.
    pub fn remove(&self, hash: &ActionHash) -> Option<Record> {
        let mut state = self.state();
        state.records.remove(hash).or_else(|| state.rejected.remove(hash))
    }

    pub fn contains(&self, hash: &ActionHash) -> bool {
        let state = self.state();
        state.records.contains_key(hash) || state.rejected.contains_key(hash)
    }

    pub fn record(&self, hash: &ActionHash) -> Option<Record> {
        let state = self.state();
        state.records.get(hash).or_else(|| state.rejected.get(hash)).cloned()
    }

    // -- actions and records --

    /// The header of `author`'s next action: action_seq counts up per agent from 4 (after
    /// the genesis actions and init) and prev_action is the agent's previous action built
    /// here (a stand-in hash before the first one).
    pub fn next_header(&self, author: &AgentPubKey, timestamp: Timestamp) -> ActionHeader {
        let mut state = self.state();
        let (seq, prev) = state
            .chains
            .entry(author.clone())
            .or_insert_with(|| (4, ActionHash::from_raw_32(author.get_raw_32().to_vec())))
            .clone();
        ActionHeader { author: author.clone(), timestamp, action_seq: seq, prev_action: Some(prev) }
    }

    /// Hashes and signs `data` as `agent`'s next action.
    pub fn author_action(&self, agent: &TestAgent, timestamp: Timestamp, data: ActionData) -> SignedActionHashed {
        let header = self.next_header(&agent.key, timestamp);
        let signed = agent.sign_action(Action { header, data });
        let (seq, _) = self.state().chains[&agent.key];
        self.state().chains.insert(agent.key.clone(), (seq + 1, signed.as_hash().clone()));
        signed
    }

    /// `agent`'s signed `Create` of an app entry of type `(zome_index, entry_index)`.
    pub fn create_entry_action(
        &self,
        agent: &TestAgent,
        app_entry_def: AppEntryDef,
        entry: &Entry,
        timestamp: Timestamp,
    ) -> SignedActionHashed {
        let data = ActionData::Create(CreateData {
            entry_type: EntryType::App(app_entry_def),
            entry_hash: EntryHash::with_data_sync(entry),
        });
        self.author_action(agent, timestamp, data)
    }

    /// A record (not stored) of `agent` creating `entry` as the public app entry type
    /// `(zome_index, entry_index)` at `timestamp`.
    pub fn app_entry_record(
        &self,
        agent: &TestAgent,
        zome_index: u8,
        entry_index: u8,
        entry: Entry,
        timestamp: Timestamp,
    ) -> Record {
        let def = short_hand::public_app_entry_def(zome_index, entry_index);
        let signed = self.create_entry_action(agent, def, &entry, timestamp);
        Record::new(signed, RecordEntry::Present(entry))
    }

    /// Like [`Self::app_entry_record`], stored (as valid); returns the record's action hash.
    pub fn store_app_entry(
        &self,
        agent: &TestAgent,
        zome_index: u8,
        entry_index: u8,
        entry: Entry,
        timestamp: Timestamp,
    ) -> ActionHash {
        self.store(self.app_entry_record(agent, zome_index, entry_index, entry, timestamp))
    }

    /// A record (not stored) of `agent` creating a zome's typed entry, e.g.
    /// `EntryTypes::Job(job)`; its type comes from the installed zome types.
    pub fn typed_entry_record<E>(&self, agent: &TestAgent, entry: &E, timestamp: Timestamp) -> Record
    where
        for<'a> EntryType: TryFrom<&'a E, Error = WasmError>,
        for<'a> Entry: TryFrom<&'a E, Error = WasmError>,
    {
        let entry_type = EntryType::try_from(entry).expect("entry type in scope of the installed zome types");
        let entry = Entry::try_from(entry).expect("serialize entry");
        let data = ActionData::Create(CreateData { entry_type, entry_hash: EntryHash::with_data_sync(&entry) });
        Record::new(self.author_action(agent, timestamp, data), RecordEntry::Present(entry))
    }

    /// Like [`Self::typed_entry_record`], stored (as valid); returns its action hash.
    pub fn store_typed_entry<E>(&self, agent: &TestAgent, entry: &E, timestamp: Timestamp) -> ActionHash
    where
        for<'a> EntryType: TryFrom<&'a E, Error = WasmError>,
        for<'a> Entry: TryFrom<&'a E, Error = WasmError>,
    {
        self.store(self.typed_entry_record(agent, entry, timestamp))
    }

    /// `agent`'s signed `CreateLink` of link type `(zome_index, link_type)`.
    #[allow(clippy::too_many_arguments)]
    pub fn create_link_action(
        &self,
        agent: &TestAgent,
        zome_index: u8,
        link_type: u8,
        base: impl Into<AnyLinkableHash>,
        target: impl Into<AnyLinkableHash>,
        tag: impl Into<LinkTag>,
        timestamp: Timestamp,
    ) -> SignedActionHashed {
        let data = ActionData::CreateLink(CreateLinkData {
            base_address: base.into(),
            target_address: target.into(),
            zome_index: ZomeIndex(zome_index),
            link_type: LinkType(link_type),
            tag: tag.into(),
        });
        self.author_action(agent, timestamp, data)
    }

    /// [`Self::create_link_action`] for a zome's link type (e.g. `LinkTypes::AllJobs`).
    pub fn typed_create_link_action<L>(
        &self,
        agent: &TestAgent,
        link_type: L,
        base: impl Into<AnyLinkableHash>,
        target: impl Into<AnyLinkableHash>,
        tag: impl Into<LinkTag>,
        timestamp: Timestamp,
    ) -> SignedActionHashed
    where
        ScopedLinkType: TryFrom<L, Error = WasmError>,
    {
        let scoped = ScopedLinkType::try_from(link_type).expect("link type in scope of the installed zome types");
        self.create_link_action(agent, scoped.zome_index.0, scoped.zome_type.0, base, target, tag, timestamp)
    }

    /// Stores the record of `action`, an action without an entry (e.g. a `CreateLink`, so that
    /// the link exists for [`Self::delete_link_ops`]), as valid; returns its hash.
    pub fn store_action(&self, action: &SignedActionHashed) -> ActionHash {
        self.store(Record::new(action.clone(), RecordEntry::NA))
    }

    // -- ops, both forms at once --

    /// The two ops a create of an app entry produces that `validate` judges by content:
    /// `[Op::CreateEntry (entry authority), Op::CreateRecord (record authority)]`, for the
    /// same signed action.
    pub fn create_entry_ops(
        &self,
        agent: &TestAgent,
        zome_index: u8,
        entry_index: u8,
        entry: Entry,
        timestamp: Timestamp,
    ) -> [Op; 2] {
        create_entry_ops_of(self.app_entry_record(agent, zome_index, entry_index, entry, timestamp))
    }

    /// [`Self::create_entry_ops`] for raw `entry` bytes declared as the zome entry type
    /// `entry_type` (e.g. `UnitEntryTypes::Job`): for entries the zome's typed enum cannot
    /// build, such as one with fields its type does not have ([`padded_entry`]).
    pub fn create_entry_ops_as<U>(&self, agent: &TestAgent, entry_type: U, entry: Entry, timestamp: Timestamp) -> [Op; 2]
    where
        ScopedEntryDefIndex: TryFrom<U, Error = WasmError>,
    {
        let scoped = ScopedEntryDefIndex::try_from(entry_type).expect("entry type in scope of the installed zome types");
        self.create_entry_ops(agent, scoped.zome_index.0, scoped.zome_type.0, entry, timestamp)
    }

    /// [`Self::create_entry_ops`] for a zome's typed entry (e.g. `EntryTypes::Job(job)`).
    pub fn typed_create_entry_ops<E>(&self, agent: &TestAgent, entry: &E, timestamp: Timestamp) -> [Op; 2]
    where
        for<'a> EntryType: TryFrom<&'a E, Error = WasmError>,
        for<'a> Entry: TryFrom<&'a E, Error = WasmError>,
    {
        create_entry_ops_of(self.typed_entry_record(agent, entry, timestamp))
    }

    /// The two ops a create-link produces that `validate` judges by content:
    /// `[Op::CreateLink (base authority), Op::CreateRecord (record authority)]`.
    #[allow(clippy::too_many_arguments)]
    pub fn create_link_ops(
        &self,
        agent: &TestAgent,
        zome_index: u8,
        link_type: u8,
        base: impl Into<AnyLinkableHash>,
        target: impl Into<AnyLinkableHash>,
        tag: impl Into<LinkTag>,
        timestamp: Timestamp,
    ) -> [Op; 2] {
        create_link_ops_of(self.create_link_action(agent, zome_index, link_type, base, target, tag, timestamp))
    }

    /// [`Self::create_link_ops`] for a zome's link type (e.g. `LinkTypes::AllJobs`).
    pub fn typed_create_link_ops<L>(
        &self,
        agent: &TestAgent,
        link_type: L,
        base: impl Into<AnyLinkableHash>,
        target: impl Into<AnyLinkableHash>,
        tag: impl Into<LinkTag>,
        timestamp: Timestamp,
    ) -> [Op; 2]
    where
        ScopedLinkType: TryFrom<L, Error = WasmError>,
    {
        let signed = self.typed_create_link_action(agent, link_type, base, target, tag, timestamp);
        create_link_ops_of(signed)
    }
}

/// `[Op::CreateEntry, Op::CreateRecord]` of a create's record (which carries its entry).
fn create_entry_ops_of(record: Record) -> [Op; 2] {
    [store_entry_op_from_record(&record), store_record_op(record)]
}

/// `[Op::CreateLink, Op::CreateRecord]` of a signed `CreateLink`.
fn create_link_ops_of(create_link: SignedActionHashed) -> [Op; 2] {
    [register_create_link_op(create_link.clone()), store_record_op(Record::new(create_link, RecordEntry::NA))]
}
