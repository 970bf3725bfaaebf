//! Integrity zome of `resource_mesh`: who may post jobs, assign or claim them, report results,
//! allocate resources and account for work. The rule that matters most: only the agent an
//! assignment names may post its result. Deny by default: an op not recognised here is invalid.
use hdi::prelude::*;
use ripple_integrity_common::validate_op;

mod accounting;
mod allocation;
mod assignment;
mod claim;
mod job;
mod job_result;
mod links;

pub use accounting::*;
pub use allocation::*;
pub use assignment::*;
pub use claim::*;
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
    Claim(Claim),
    Allocation(Allocation),
    AllocationRelease(AllocationRelease),
    AccountingRecord(AccountingRecord),
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
    /// Open job → claims on it.
    JobToClaims,
    /// Requester or provider → allocation.
    AgentToAllocations,
    /// Allocation → its releases.
    AllocationToReleases,
    /// Job → accounting records.
    JobToAccounting,
    /// Serving agent → its accounting records.
    AgentToAccounting,
    /// `open_jobs/<minute>` → open jobs whose claim window closes in that minute.
    OpenJobBucket,
}

#[hdk_extern]
pub fn genesis_self_check(_data: GenesisSelfCheckData) -> ExternResult<ValidateCallbackResult> {
    Ok(ValidateCallbackResult::Valid)
}

fn validate_create_entry(author: &AgentPubKey, at: Timestamp, entry: EntryTypes) -> ExternResult<ValidateCallbackResult> {
    match entry {
        EntryTypes::Job(job) => validate_create_job(at, &job),
        EntryTypes::Assignment(assignment) => validate_create_assignment(author, &assignment),
        EntryTypes::JobResult(result) => validate_create_job_result(author, &result),
        EntryTypes::Claim(claim) => validate_create_claim(at, &claim),
        EntryTypes::Allocation(allocation) => validate_create_allocation(at, &allocation),
        EntryTypes::AllocationRelease(release) => validate_create_allocation_release(author, &release),
        EntryTypes::AccountingRecord(record) => validate_create_accounting(author, &record),
    }
}

fn validate_create_link(link_type: LinkTypes, action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    match link_type {
        LinkTypes::AllJobs => validate_all_jobs_link(action),
        LinkTypes::JobToAssignments => validate_job_to_assignments_link(action),
        LinkTypes::AssigneeToAssignments => validate_assignee_to_assignments_link(action),
        LinkTypes::JobToResults => validate_job_to_results_link(action),
        LinkTypes::JobToClaims => validate_job_to_claims_link(action),
        LinkTypes::AgentToAllocations => validate_agent_to_allocations_link(action),
        LinkTypes::AllocationToReleases => validate_allocation_to_releases_link(action),
        LinkTypes::JobToAccounting => validate_job_to_accounting_link(action),
        LinkTypes::AgentToAccounting => validate_agent_to_accounting_link(action),
        LinkTypes::OpenJobBucket => validate_open_job_bucket_link(action),
    }
}

#[hdk_extern]
pub fn validate(op: Op) -> ExternResult<ValidateCallbackResult> {
    validate_op::<EntryTypes, LinkTypes>("resource_mesh", &op, validate_create_entry, validate_create_link)
}
