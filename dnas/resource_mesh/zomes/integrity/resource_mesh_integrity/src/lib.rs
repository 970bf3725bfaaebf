//! Integrity zome of `resource_mesh`: who may post jobs, assign them and report results.
//! The rule that matters most: only the agent an assignment names may post its result.
//! Deny by default: an op this file does not recognise is invalid.
use hdi::prelude::*;
use ripple_integrity_common::validate_append_only_activity;

mod assignment;
mod checks;
mod job;
mod job_result;
mod links;

pub use assignment::*;
pub use job::*;
pub use job_result::*;
pub use links::*;

#[derive(Serialize, Deserialize)]
#[serde(tag = "type")]
#[hdk_entry_types]
#[unit_enum(UnitEntryTypes)]
pub enum EntryTypes {
    Job(Job),
    Assignment(Assignment),
    JobResult(JobResult),
}

#[derive(Serialize, Deserialize)]
#[hdk_link_types]
pub enum LinkTypes {
    /// `all_jobs` anchor → job.
    AllJobs,
    /// Job → its assignments (written by the job's author).
    JobToAssignments,
    /// Assignee agent → assignments naming it (how a worker finds its work).
    AssigneeToAssignments,
    /// Job → results (written by each result's author).
    JobToResults,
}

#[hdk_extern]
pub fn genesis_self_check(_data: GenesisSelfCheckData) -> ExternResult<ValidateCallbackResult> {
    Ok(ValidateCallbackResult::Valid)
}

fn validate_create_entry(author: &AgentPubKey, entry: EntryTypes) -> ExternResult<ValidateCallbackResult> {
    match entry {
        EntryTypes::Job(job) => validate_create_job(&job),
        EntryTypes::Assignment(assignment) => validate_create_assignment(author, &assignment),
        EntryTypes::JobResult(result) => validate_create_job_result(author, &result),
    }
}

fn validate_create_link(link_type: LinkTypes, action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    match link_type {
        LinkTypes::AllJobs => validate_all_jobs_link(action),
        LinkTypes::JobToAssignments => validate_job_to_assignments_link(action),
        LinkTypes::AssigneeToAssignments => validate_assignee_to_assignments_link(action),
        LinkTypes::JobToResults => validate_job_to_results_link(action),
    }
}

#[hdk_extern]
pub fn validate(op: Op) -> ExternResult<ValidateCallbackResult> {
    match op.flattened::<EntryTypes, LinkTypes>()? {
        FlatOp::CreateEntry(OpEntry::CreateEntry { app_entry, action }) => validate_create_entry(action.author(), app_entry),
        FlatOp::CreateRecord(OpRecord::CreateEntry { app_entry, action }) => validate_create_entry(action.author(), app_entry),
        FlatOp::Link(OpLink::CreateLink { link_type, action })
        | FlatOp::CreateRecord(OpRecord::CreateLink { link_type, action }) => validate_create_link(link_type, &action),
        // A reassignment is a new assignment with a higher epoch, never an update.
        FlatOp::AgentActivity(activity) => Ok(validate_append_only_activity("resource_mesh", activity)),
        FlatOp::CreateEntry(OpEntry::CreateAgent { .. })
        | FlatOp::CreateRecord(OpRecord::CreateAgent { .. })
        | FlatOp::CreateRecord(OpRecord::Dna { .. })
        | FlatOp::CreateRecord(OpRecord::AgentValidationPkg { .. })
        | FlatOp::CreateRecord(OpRecord::InitZomesComplete { .. })
        | FlatOp::CreateEntry(OpEntry::CreateCapGrant { .. })
        | FlatOp::CreateRecord(OpRecord::CreateCapGrant { .. }) => Ok(ValidateCallbackResult::Valid),
        other => Ok(ValidateCallbackResult::Invalid(format!(
            "resource_mesh does not allow this operation: {other:?}"
        ))),
    }
}
