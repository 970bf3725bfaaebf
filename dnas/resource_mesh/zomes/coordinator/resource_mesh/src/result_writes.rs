//! Result and accounting writes that a retry cannot repeat. A worker whose reply was lost (a
//! conductor restart, a dropped websocket) writes again; each write first looks for a record of
//! the same kind that this agent already wrote for the same assignment (through the job's links,
//! so the look-up costs what the job has, not what the chain holds) and returns it instead.
use hdk::prelude::*;
use resource_mesh_integrity::*;
use ripple_coordinator_common::*;

/// What `post_result_and_accounting` wrote or found.
#[derive(Serialize, Deserialize, Debug)]
pub struct PostedResult {
    pub result: ActionHash,
    /// None when the job is this agent's own (self-assigned work is not accounted).
    pub accounting: Option<ActionHash>,
}

/// The result of `result.assignment` this agent wrote, or a new one.
pub fn post_result_once(result: JobResult) -> ExternResult<ActionHash> {
    let me = agent_info()?.agent_initial_pubkey;
    let assignment = result.assignment.clone();
    if let Some(existing) = mine_linked::<JobResult>(&result.job, LinkTypes::JobToResults, &me, |r| r.assignment == assignment)? {
        return Ok(existing);
    }
    let job = result.job.clone();
    let hash = create_entry(&EntryTypes::JobResult(result))?;
    create_link(job, hash.clone(), LinkTypes::JobToResults, ())?;
    Ok(hash)
}

/// The accounting record of `record.assignment` this agent wrote, or a new one.
pub fn record_accounting_once(record: AccountingRecord) -> ExternResult<ActionHash> {
    let me = agent_info()?.agent_initial_pubkey;
    let assignment = record.assignment.clone();
    if let Some(existing) = mine_linked::<AccountingRecord>(&record.job, LinkTypes::JobToAccounting, &me, |r| r.assignment == assignment)? {
        return Ok(existing);
    }
    let (job, agent) = (record.job.clone(), record.agent.clone());
    let hash = create_entry(&EntryTypes::AccountingRecord(record))?;
    create_link(job, hash.clone(), LinkTypes::JobToAccounting, ())?;
    create_link(agent, hash.clone(), LinkTypes::AgentToAccounting, ())?;
    Ok(hash)
}

/// A worker's result and, unless the job is its own, its accounting record (the result's tokens
/// and latency), in one commit; a retry returns what the first call wrote.
pub fn post_result_and_accounting_once(result: JobResult) -> ExternResult<PostedResult> {
    let me = agent_info()?.agent_initial_pubkey;
    let own_job = job_author(&result.job)? == me;
    let record = AccountingRecord {
        job: result.job.clone(),
        assignment: result.assignment.clone(),
        agent: me,
        tokens: u64::from(result.tokens).min(MAX_TOKENS),
        served_ms: u64::from(result.latency_ms).min(MAX_SERVED_MS),
    };
    let result = post_result_once(result)?;
    let accounting = if own_job { None } else { Some(record_accounting_once(record)?) };
    Ok(PostedResult { result, accounting })
}

fn job_author(job: &ActionHash) -> ExternResult<AgentPubKey> {
    let record = match get(job.clone(), GetOptions::local())? {
        Some(record) => Some(record),
        None => get(job.clone(), GetOptions::network())?,
    };
    match record {
        Some(record) => Ok(record.action().author().clone()),
        None => Err(wasm_error!(WasmErrorInner::Guest("the job of this result is not here yet; retry".into()))),
    }
}

/// The oldest (lowest-hash) `T` that `me` linked from `job` and that `same` accepts. Read from this
/// node's own store, which holds what this agent authored.
fn mine_linked<T>(job: &ActionHash, link_type: LinkTypes, me: &AgentPubKey, same: impl Fn(&T) -> bool) -> ExternResult<Option<ActionHash>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    let mut mine: Vec<ActionHash> = links_newest_first_by(job.clone(), link_type, GetStrategy::Local)?
        .into_iter()
        .filter(|l| &l.author == me)
        .filter_map(|l| l.target.into_action_hash())
        .collect();
    mine.sort_by(|a, b| a.get_raw_39().cmp(b.get_raw_39()));
    for hash in mine {
        let Some(record) = get(hash.clone(), GetOptions::local())? else { continue };
        if record.action().author() != me {
            continue;
        }
        if let Ok(Some(entry)) = record.entry().to_app_option::<T>() {
            if same(&entry) {
                return Ok(Some(hash));
            }
        }
    }
    Ok(None)
}
