//! Link rules: each link points at a record of the kind its type names (valid or not: readers keep only valid targets), written by the
//! link's author, and hangs off the base that record belongs to.
use crate::{UnitEntryTypes, AccountingRecord, Allocation, AllocationRelease, Assignment, Claim, Job, JobResult};
use hdi::prelude::*;
use ripple_integrity_common::*;

pub fn all_jobs_anchor_hash() -> ExternResult<EntryHash> {
    path_hash(&["all_jobs"])
}

/// Open-job buckets are 10-minute periods of the time a job's claim window closes, and each link's
/// tag is that closing time: "jobs still open" reads the buckets of this period and the next (no
/// window is longer than 10 minutes), skips closed jobs by their tag without fetching them, and
/// never touches a job that closed before this period or an assigned job, so its cost depends on
/// the jobs open now (and those closed in this period), not on the job history.
pub const OPEN_JOB_BUCKET_SECONDS: i64 = 600;

/// When an open job written at `at` stops taking claims.
pub fn claim_window_closes(at: Timestamp, job: &Job) -> Timestamp {
    Timestamp::from_micros(at.as_micros() + i64::from(job.claim_window_ms) * 1000)
}

/// The open-job bucket a closing time falls in (10-minute periods since the Unix epoch).
pub fn open_job_bucket(closes: Timestamp) -> i64 {
    closes.as_seconds_and_nanos().0.div_euclid(OPEN_JOB_BUCKET_SECONDS)
}

pub fn open_job_bucket_hash(bucket: i64) -> ExternResult<EntryHash> {
    path_hash(&["open_jobs", &bucket.to_string()])
}

/// The tag of an OpenJobBucket link: the closing time in microseconds, 8 bytes big-endian.
pub fn open_job_tag(closes: Timestamp) -> LinkTag {
    LinkTag::new(closes.as_micros().to_be_bytes().to_vec())
}

/// The closing time an OpenJobBucket tag states (None if it is not 8 bytes).
pub fn open_job_tag_closes(tag: &LinkTag) -> Option<Timestamp> {
    let bytes: [u8; 8] = tag.0.as_slice().try_into().ok()?;
    Some(Timestamp::from_micros(i64::from_be_bytes(bytes)))
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

/// Only an open job (claim window > 0), from the bucket of the period its window closes, tagged
/// with that closing time.
pub fn validate_open_job_bucket_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    let (record, job) = match own_link_target::<Job, _>(action, UnitEntryTypes::Job)? {
        Ok(found) => found,
        Err(reason) => return invalid(reason),
    };
    if job.claim_window_ms == 0 {
        return invalid("an OpenJobBucket link must point at an open job (claim_window_ms > 0)");
    }
    let closes = claim_window_closes(record.action().timestamp(), &job);
    if action.base_address != open_job_bucket_hash(open_job_bucket(closes))?.into() {
        return invalid("an OpenJobBucket link must start at the bucket of the period the job's claim window closes in");
    }
    if open_job_tag_closes(&action.tag) != Some(closes) {
        return invalid("an OpenJobBucket tag must be the time the job's claim window closes (microseconds, 8 bytes big-endian)");
    }
    Ok(ValidateCallbackResult::Valid)
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
