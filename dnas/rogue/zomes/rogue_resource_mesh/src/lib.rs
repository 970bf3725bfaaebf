//! Rogue coordinator for resource_mesh (tests only): a result for an assignment naming someone
//! else, a link from a job to a record that is not a valid result, and accounting paid to oneself
//! for one's own job.
use hdk::prelude::*;
use resource_mesh_integrity::*;

#[hdk_extern]
pub fn forge_result(result: JobResult) -> ExternResult<ActionHash> {
    let job = result.job.clone();
    let hash = create_entry(&EntryTypes::JobResult(result))?;
    create_link(job, hash.clone(), LinkTypes::JobToResults, ())?;
    Ok(hash)
}

#[derive(Serialize, Deserialize, Debug)]
pub struct ForgeLinkInput {
    pub job: ActionHash,
    pub target: ActionHash,
}

/// A JobToResults link from `job` to any record (e.g. an assignment, or a rejected result).
#[hdk_extern]
pub fn forge_result_link(input: ForgeLinkInput) -> ExternResult<ActionHash> {
    create_link(input.job, input.target, LinkTypes::JobToResults, ())
}

/// Pays itself: `job` authored here, assigned to itself, and an AccountingRecord for that
/// assignment with the links the honest coordinator writes (JobToAccounting, AgentToAccounting).
/// The integrity zome refuses a job author's accounting for its own job; returns the record's hash.
#[hdk_extern]
pub fn forge_self_paid_job(job: Job) -> ExternResult<ActionHash> {
    let me = agent_info()?.agent_initial_pubkey;
    let job_hash = create_entry(&EntryTypes::Job(job))?;
    let assignment = create_entry(&EntryTypes::Assignment(Assignment { job: job_hash.clone(), assignee: me.clone(), slot: 0, epoch: 1 }))?;
    let record = AccountingRecord { job: job_hash.clone(), assignment, agent: me.clone(), tokens: 1_000, served_ms: 1_000 };
    let hash = create_entry(&EntryTypes::AccountingRecord(record))?;
    create_link(job_hash, hash.clone(), LinkTypes::JobToAccounting, ())?;
    create_link(me, hash.clone(), LinkTypes::AgentToAccounting, ())?;
    Ok(hash)
}
