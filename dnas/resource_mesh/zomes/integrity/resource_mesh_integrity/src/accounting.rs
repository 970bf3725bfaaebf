//! `AccountingRecord`: tokens and time an agent served for one assignment. Written by the agent
//! that served it, which must be the assignment's assignee.
use crate::{Assignment, UnitEntryTypes};
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
    verdict(if &assignment.assignee != author {
        Some("only the assignee of an assignment may account for it".into())
    } else if assignment.job != r.job {
        Some("accounting.job must be the job of its assignment".into())
    } else {
        None
    })
}
