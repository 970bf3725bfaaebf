//! Coordinator zome of `resource_mesh`: post jobs, assign them, post results, and read them back.
//! Reads go through `get_details` and keep only records the network validated.
use hdk::prelude::*;
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
    let links = get_links(LinkQuery::try_new(base, link_type)?, GetStrategy::Network)?;
    let mut found = Vec::with_capacity(links.len());
    for link in links {
        if let Some(hash) = link.target.into_action_hash() {
            if let Some(record) = get_valid(hash)? {
                found.push(record);
            }
        }
    }
    Ok(found)
}

/// Plain `get` returns records the network rejected (DESIGN.md); keep only `Valid` ones.
fn get_valid<T>(hash: ActionHash) -> ExternResult<Option<Found<T>>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    let Some(Details::Record(details)) = get_details(hash.clone(), GetOptions::network())? else {
        return Ok(None);
    };
    if details.validation_status != ValidationStatus::Valid {
        return Ok(None);
    }
    let Ok(Some(entry)) = details.record.entry().to_app_option::<T>() else {
        return Ok(None);
    };
    Ok(Some(Found { action_hash: hash, author: details.record.action().author().clone(), entry }))
}
