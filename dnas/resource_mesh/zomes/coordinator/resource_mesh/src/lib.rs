//! Coordinator zome of `resource_mesh`: post jobs, assign them, post results, and read them back.
//! Reads keep only records the network validated (ripple_coordinator_common).
use hdk::prelude::*;
use ripple_coordinator_common::{get_valid_entry, linked_valid_entries};
use resource_mesh_integrity::*;

/// A record as readers see it: hash, author and typed content.
#[derive(Serialize, Deserialize, Debug)]
pub struct Found<T> {
    pub action_hash: ActionHash,
    pub author: AgentPubKey,
    pub entry: T,
}

#[hdk_extern]
pub fn create_job(job: Job) -> ExternResult<ActionHash> {
    let hash = create_entry(&EntryTypes::Job(job))?;
    create_link(all_jobs_anchor_hash()?, hash.clone(), LinkTypes::AllJobs, ())?;
    Ok(hash)
}

#[hdk_extern]
pub fn assign_job(assignment: Assignment) -> ExternResult<ActionHash> {
    let (job, assignee) = (assignment.job.clone(), assignment.assignee.clone());
    let hash = create_entry(&EntryTypes::Assignment(assignment))?;
    create_link(job, hash.clone(), LinkTypes::JobToAssignments, ())?;
    create_link(assignee, hash.clone(), LinkTypes::AssigneeToAssignments, ())?;
    Ok(hash)
}

#[hdk_extern]
pub fn post_result(result: JobResult) -> ExternResult<ActionHash> {
    let job = result.job.clone();
    let hash = create_entry(&EntryTypes::JobResult(result))?;
    create_link(job, hash.clone(), LinkTypes::JobToResults, ())?;
    Ok(hash)
}

#[hdk_extern]
pub fn get_job(job: ActionHash) -> ExternResult<Option<Found<Job>>> {
    get_valid(job)
}

#[hdk_extern]
pub fn get_assignments(job: ActionHash) -> ExternResult<Vec<Found<Assignment>>> {
    linked(job.into(), LinkTypes::JobToAssignments)
}

#[hdk_extern]
pub fn get_my_assignments(_: ()) -> ExternResult<Vec<Found<Assignment>>> {
    linked(agent_info()?.agent_initial_pubkey.into(), LinkTypes::AssigneeToAssignments)
}

#[hdk_extern]
pub fn get_job_results(job: ActionHash) -> ExternResult<Vec<Found<JobResult>>> {
    linked(job.into(), LinkTypes::JobToResults)
}

fn linked<T>(base: AnyLinkableHash, link_type: LinkTypes) -> ExternResult<Vec<Found<T>>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    let found = linked_valid_entries::<T>(base, link_type)?;
    Ok(found.into_iter().map(|(action_hash, record, entry)| Found { action_hash, author: record.action().author().clone(), entry }).collect())
}

fn get_valid<T>(hash: ActionHash) -> ExternResult<Option<Found<T>>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    let found = get_valid_entry::<T>(hash.clone())?;
    Ok(found.map(|(record, entry)| Found { action_hash: hash, author: record.action().author().clone(), entry }))
}
