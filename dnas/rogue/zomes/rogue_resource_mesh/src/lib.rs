//! Rogue coordinator for resource_mesh (tests only): a result for an assignment naming someone
//! else, and a link from a job to a record that is not a valid result.
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
