//! Link rules: each link points at a valid record of the kind its type names, written by the
//! link's author, and hangs off the base that record belongs to.
use crate::checks::*;
use crate::{Assignment, Job, JobResult};
use hdi::prelude::*;

pub const ALL_JOBS_ANCHOR: &str = "all_jobs";

pub fn all_jobs_anchor_hash() -> ExternResult<EntryHash> {
    Path::from(ALL_JOBS_ANCHOR).path_entry_hash()
}

/// The target record (of type T) of a link, required to be authored by the link's author.
fn own_target<T>(action: &TypedAction<CreateLinkData>, what: &str) -> ExternResult<Result<T, String>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    let Some(target) = action.target_address.clone().into_action_hash() else {
        return Ok(Err(format!("the link must point at a {what} action")));
    };
    Ok(match must_get_typed_record::<T>(target, what)? {
        Ok((record, _)) if record.action().author() != action.author() => Err(format!("a link may only point at its author's own {what}")),
        Ok((_, entry)) => Ok(entry),
        Err(reason) => Err(reason),
    })
}

fn verdict(problem: Option<String>) -> ExternResult<ValidateCallbackResult> {
    match problem {
        Some(reason) => invalid(reason),
        None => Ok(ValidateCallbackResult::Valid),
    }
}

pub fn validate_all_jobs_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    if action.base_address != all_jobs_anchor_hash()?.into() {
        return invalid("an AllJobs link must start at the all_jobs anchor");
    }
    verdict(own_target::<Job>(action, "Job")?.err())
}

pub fn validate_job_to_assignments_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    verdict(match own_target::<Assignment>(action, "Assignment")? {
        Ok(a) => (action.base_address != a.job.into()).then(|| "a JobToAssignments link must start at the assignment's job".into()),
        Err(reason) => Some(reason),
    })
}

pub fn validate_assignee_to_assignments_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    verdict(match own_target::<Assignment>(action, "Assignment")? {
        Ok(a) => (action.base_address != a.assignee.into()).then(|| "an AssigneeToAssignments link must start at the assignee".into()),
        Err(reason) => Some(reason),
    })
}

pub fn validate_job_to_results_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    verdict(match own_target::<JobResult>(action, "JobResult")? {
        Ok(r) => (action.base_address != r.job.into()).then(|| "a JobToResults link must start at the result's job".into()),
        Err(reason) => Some(reason),
    })
}
