//! `Claim`: a peer offers to run one slot of an open job. Claims are accepted only inside the
//! job's claim window; which claim wins is decided by the coordinator's `claim_rank`, a pure
//! function of the job, slot and claimant that every node computes the same way.
use crate::{UnitEntryTypes, Job, MAX_SLOT};
use hdi::prelude::*;
use ripple_integrity_common::*;

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub job: ActionHash,
    pub slot: u32,
}

pub fn validate_create_claim(at: Timestamp, claim: &Claim) -> ExternResult<ValidateCallbackResult> {
    if claim.slot >= MAX_SLOT {
        return invalid(format!("slot must be below {MAX_SLOT}, got {}", claim.slot));
    }
    let (job_record, job) = match must_get_typed_record::<Job, _>(claim.job.clone(), UnitEntryTypes::Job)? {
        Ok(found) => found,
        Err(reason) => return invalid(format!("claim.job: {reason}")),
    };
    if job.claim_window_ms == 0 {
        return invalid("this job is not open: its author assigns it");
    }
    let opened = job_record.action().timestamp().as_micros();
    let closes = opened + i64::from(job.claim_window_ms) * 1000;
    let at = at.as_micros();
    if at < opened || at > closes {
        return invalid("a claim must be written inside the job's claim window");
    }
    Ok(ValidateCallbackResult::Valid)
}
