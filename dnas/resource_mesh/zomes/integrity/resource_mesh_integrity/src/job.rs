//! `Job`: a unit of work posted by a requester. Bounded; the payload is inline or by CID.
use ripple_integrity_common::*;
use hdi::prelude::*;

pub const JOB_KINDS: [&str; 3] = ["inference", "compute", "storage"];
pub const MAX_REQUIREMENTS_LEN: usize = 4096;
pub const MAX_PAYLOAD_INLINE_LEN: usize = 64 * 1024;
pub const MAX_ID_LEN: usize = 64;
/// Longest claim window of an open job (10 minutes).
pub const MAX_CLAIM_WINDOW_MS: u32 = 600_000;
/// Latest deadline a job may have, after the time it was written (7 days).
pub const MAX_JOB_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub kind: String,
    /// JSON object of requirements (model, min memory, …), kept opaque to validation.
    pub requirements: String,
    pub payload_inline: Option<String>,
    pub payload_cid: Option<String>,
    /// Milliseconds since the Unix epoch: at most 7 days after the job's action time.
    pub deadline_ms: i64,
    pub moe_group: Option<String>,
    pub trace_id: String,
    /// 0 for a job its author assigns; otherwise the job is open and peers may claim it for
    /// this many milliseconds after it was written.
    pub claim_window_ms: u32,
}

pub fn validate_create_job(at: Timestamp, job: &Job) -> ExternResult<ValidateCallbackResult> {
    let problem = not_one_of("kind", &job.kind, &JOB_KINDS)
        .or_else(|| bad_len("requirements", &job.requirements, MAX_REQUIREMENTS_LEN))
        .or_else(|| bad_inline_or_cid("payload", &job.payload_inline, &job.payload_cid, MAX_PAYLOAD_INLINE_LEN))
        .or_else(|| bad_label("trace_id", &job.trace_id, MAX_ID_LEN))
        .or_else(|| bad_optional_label("moe_group", &job.moe_group, MAX_ID_LEN))
        .or_else(|| bad_time_until("deadline_ms", job.deadline_ms, at, MAX_JOB_LIFETIME_MS))
        .or_else(|| bad_u64("claim_window_ms", job.claim_window_ms.into(), 0, MAX_CLAIM_WINDOW_MS.into()));
    verdict(problem)
}
