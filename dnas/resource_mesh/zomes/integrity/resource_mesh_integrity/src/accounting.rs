//! `AccountingRecord`: tokens and time an agent served for one assignment. Written by the agent
//! that served it, which must be the assignment's assignee and not the job's author: work a job's
//! author assigns itself is not accounted (it could otherwise write unlimited records for itself).
use crate::{Assignment, Job, UnitEntryTypes};
use hdi::prelude::*;
use ripple_integrity_common::*;

pub const MAX_TOKENS: u64 = 10_000_000;
pub const MAX_SERVED_MS: u64 = 7 * 24 * 3600 * 1000;

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountingRecord {
    pub job: ActionHash,
    pub assignment: ActionHash,
    pub agent: AgentPubKey,
    pub tokens: u64,
    pub served_ms: u64,
}

pub fn validate_create_accounting(author: &AgentPubKey, r: &AccountingRecord) -> ExternResult<ValidateCallbackResult> {
    if &r.agent != author {
        return invalid("an AccountingRecord can only be written by the agent that served");
    }
    if let Some(reason) = bad_u64("tokens", r.tokens, 0, MAX_TOKENS).or_else(|| bad_u64("served_ms", r.served_ms, 0, MAX_SERVED_MS)) {
        return invalid(reason);
    }
    let (_, assignment) = match must_get_typed_record::<Assignment, _>(r.assignment.clone(), UnitEntryTypes::Assignment)? {
        Ok(found) => found,
        Err(reason) => return invalid(format!("accounting.assignment: {reason}")),
    };
    if &assignment.assignee != author {
        return invalid("only the assignee of an assignment may account for it");
    }
    if assignment.job != r.job {
        return invalid("accounting.job must be the job of its assignment");
    }
    let (job_record, _) = match must_get_typed_record::<Job, _>(r.job.clone(), UnitEntryTypes::Job)? {
        Ok(found) => found,
        Err(reason) => return invalid(format!("accounting.job: {reason}")),
    };
    verdict((job_record.action().author() == author).then(|| "a job's author may not account for its own job (self-assigned work is not counted)".to_string()))
}
