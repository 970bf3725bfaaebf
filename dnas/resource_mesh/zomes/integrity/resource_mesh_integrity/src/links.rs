//! Link rules: each link points at a valid record of the kind its type names, written by the
//! link's author, and hangs off the base that record belongs to.
use crate::{UnitEntryTypes, AccountingRecord, Allocation, AllocationRelease, Assignment, Claim, Job, JobResult};
use hdi::prelude::*;
use ripple_integrity_common::*;

pub fn all_jobs_anchor_hash() -> ExternResult<EntryHash> {
    path_hash(&["all_jobs"])
}

/// Check the link's target (own, valid, of type T), then that its base is `expected_base(target)`.
fn linked_from<T>(
    action: &TypedAction<CreateLinkData>,
    unit: UnitEntryTypes,
    expected_base: impl Fn(&Record, &T) -> Vec<AnyLinkableHash>,
    base_rule: &str,
) -> ExternResult<ValidateCallbackResult>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    verdict(match own_link_target::<T, _>(action, unit)? {
        Ok((record, entry)) => bad_tag(action).or((!expected_base(&record, &entry).contains(&action.base_address)).then(|| base_rule.to_string())),
        Err(reason) => Some(reason),
    })
}

pub fn validate_all_jobs_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    let anchor: AnyLinkableHash = all_jobs_anchor_hash()?.into();
    linked_from::<Job>(action, UnitEntryTypes::Job, |_, _| vec![anchor.clone()], "an AllJobs link must start at the all_jobs anchor")
}

pub fn validate_job_to_assignments_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    linked_from::<Assignment>(action, UnitEntryTypes::Assignment, |_, a| vec![a.job.clone().into()], "a JobToAssignments link must start at the assignment's job")
}

pub fn validate_assignee_to_assignments_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    linked_from::<Assignment>(action, UnitEntryTypes::Assignment, |_, a| vec![a.assignee.clone().into()], "an AssigneeToAssignments link must start at the assignee")
}

pub fn validate_job_to_results_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    linked_from::<JobResult>(action, UnitEntryTypes::JobResult, |_, r| vec![r.job.clone().into()], "a JobToResults link must start at the result's job")
}

pub fn validate_job_to_claims_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    linked_from::<Claim>(action, UnitEntryTypes::Claim, |_, c| vec![c.job.clone().into()], "a JobToClaims link must start at the claim's job")
}

/// Requester → allocation, and provider → allocation when one is named.
pub fn validate_agent_to_allocations_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    linked_from::<Allocation>(action, UnitEntryTypes::Allocation,
        |record, a| std::iter::once(record.action().author().clone()).chain(a.provider.clone()).map(Into::into).collect(),
        "an AgentToAllocations link must start at the allocation's requester or provider",
    )
}

pub fn validate_allocation_to_releases_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    linked_from::<AllocationRelease>(action, UnitEntryTypes::AllocationRelease, |_, r| vec![r.allocation.clone().into()], "an AllocationToReleases link must start at the released allocation")
}

pub fn validate_job_to_accounting_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    linked_from::<AccountingRecord>(action, UnitEntryTypes::AccountingRecord, |_, r| vec![r.job.clone().into()], "a JobToAccounting link must start at the record's job")
}

pub fn validate_agent_to_accounting_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    linked_from::<AccountingRecord>(action, UnitEntryTypes::AccountingRecord, |_, r| vec![r.agent.clone().into()], "an AgentToAccounting link must start at the serving agent")
}
