//! `JobResult`: the output of one assignment. Only the agent the assignment names may write it.
use ripple_integrity_common::*;
use crate::{Assignment, UnitEntryTypes};
use hdi::prelude::*;

pub const MAX_OUTPUT_INLINE_LEN: usize = 64 * 1024;

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JobResult {
    pub assignment: ActionHash,
    pub job: ActionHash,
    pub output_inline: Option<String>,
    pub output_cid: Option<String>,
    /// sha256 (lowercase hex) of the output bytes.
    pub response_hash: String,
    pub tokens: u32,
    pub latency_ms: u32,
    /// sha256 of the GGUF (or a CID) the output came from.
    pub model: String,
}

pub fn validate_create_job_result(author: &AgentPubKey, result: &JobResult) -> ExternResult<ValidateCallbackResult> {
    if let Some(reason) = bad_inline_or_cid("output", &result.output_inline, &result.output_cid, MAX_OUTPUT_INLINE_LEN)
        .or_else(|| bad_sha256("response_hash", &result.response_hash))
        .or_else(|| bad_label("model", &result.model, MAX_CID_LEN))
    {
        return invalid(reason);
    }
    let (_, assignment) = match must_get_typed_record::<Assignment, _>(result.assignment.clone(), UnitEntryTypes::Assignment)? {
        Ok(found) => found,
        Err(reason) => return invalid(format!("result.assignment: {reason}")),
    };
    if &assignment.assignee != author {
        return invalid("only the agent named by the assignment may post its result");
    }
    if assignment.job != result.job {
        return invalid("result.job must be the job of its assignment");
    }
    Ok(ValidateCallbackResult::Valid)
}
