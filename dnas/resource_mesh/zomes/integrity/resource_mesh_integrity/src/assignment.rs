//! `Assignment`: the job's author names the agent that runs one slot of the job, with an epoch.
//! A reassignment (after a timeout) is a new assignment with a higher epoch.
use ripple_integrity_common::*;
use crate::{Job, UnitEntryTypes};
use hdi::prelude::*;

pub const MAX_EPOCH: u32 = 1000;
pub const MAX_SLOT: u32 = 64;

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub job: ActionHash,
    pub assignee: AgentPubKey,
    pub slot: u32,
    pub epoch: u32,
}

pub fn validate_create_assignment(author: &AgentPubKey, assignment: &Assignment) -> ExternResult<ValidateCallbackResult> {
    if assignment.epoch == 0 || assignment.epoch > MAX_EPOCH {
        return invalid(format!("epoch must be 1..={MAX_EPOCH}, got {}", assignment.epoch));
    }
    if assignment.slot >= MAX_SLOT {
        return invalid(format!("slot must be below {MAX_SLOT}, got {}", assignment.slot));
    }
    let (job_record, _job) = match must_get_typed_record::<Job, _>(assignment.job.clone(), UnitEntryTypes::Job)? {
        Ok(found) => found,
        Err(reason) => return invalid(format!("assignment.job: {reason}")),
    };
    if job_record.action().author() != author {
        return invalid("only the job's author may assign or reassign it");
    }
    Ok(ValidateCallbackResult::Valid)
}
