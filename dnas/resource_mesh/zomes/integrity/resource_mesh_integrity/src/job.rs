//! `Job`: a unit of work posted by a requester. Bounded; the payload is inline or by CID.
use crate::checks::*;
use hdi::prelude::*;

pub const JOB_KINDS: [&str; 3] = ["inference", "compute", "storage"];
pub const MAX_REQUIREMENTS_LEN: usize = 4096;
pub const MAX_PAYLOAD_INLINE_LEN: usize = 64 * 1024;
pub const MAX_ID_LEN: usize = 64;

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
pub struct Job {
    pub kind: String,
    /// JSON object of requirements (model, min memory, …), kept opaque to validation.
    pub requirements: String,
    pub payload_inline: Option<String>,
    pub payload_cid: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub deadline_ms: i64,
    pub moe_group: Option<String>,
    pub trace_id: String,
}

pub fn validate_create_job(job: &Job) -> ExternResult<ValidateCallbackResult> {
    if !JOB_KINDS.contains(&job.kind.as_str()) {
        return invalid(format!("kind must be one of {JOB_KINDS:?}, got {:?}", job.kind));
    }
    let problem = bad_len("requirements", &job.requirements, MAX_REQUIREMENTS_LEN)
        .or_else(|| bad_inline_or_cid("payload", &job.payload_inline, &job.payload_cid, MAX_PAYLOAD_INLINE_LEN))
        .or_else(|| bad_len("trace_id", &job.trace_id, MAX_ID_LEN))
        .or_else(|| job.moe_group.as_ref().and_then(|g| bad_len("moe_group", g, MAX_ID_LEN)))
        .or_else(|| (job.deadline_ms <= 0).then(|| "deadline_ms must be positive".to_string()));
    match problem {
        Some(reason) => invalid(reason),
        None => Ok(ValidateCallbackResult::Valid),
    }
}
