//! `Allocation` and `AllocationRelease` (seed §11.4 `resources.allocate` / `release`): a requester
//! reserves resources of one type, optionally on a named provider, for a duration. The requester
//! or the provider may release it; nobody else.
use crate::UnitEntryTypes;
use hdi::prelude::*;
use ripple_integrity_common::*;

pub const RESOURCE_TYPES: [&str; 5] = ["cpu", "gpu", "memory", "storage", "inference"];
pub const MAX_ALLOCATION_SECONDS: u32 = 7 * 24 * 3600;
pub const MAX_REASON_LEN: usize = 256;

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    pub resource_type: String,
    /// JSON object (cores, memory_gb, model, …), opaque to validation.
    pub requirements: String,
    /// e.g. "local", "same-region", a latency region name.
    pub locality_preference: Option<String>,
    pub duration_seconds: u32,
    /// Milliseconds since the Unix epoch after which the allocation lapses by itself: at most its
    /// duration after the allocation's action time.
    pub expires_at_ms: i64,
    pub provider: Option<AgentPubKey>,
}

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AllocationRelease {
    pub allocation: ActionHash,
    pub reason: String,
}

pub fn validate_create_allocation(at: Timestamp, a: &Allocation) -> ExternResult<ValidateCallbackResult> {
    verdict(
        not_one_of("resource_type", &a.resource_type, &RESOURCE_TYPES)
            .or_else(|| bad_len("requirements", &a.requirements, crate::MAX_REQUIREMENTS_LEN))
            .or_else(|| bad_optional_label("locality_preference", &a.locality_preference, 32))
            .or_else(|| bad_u64("duration_seconds", a.duration_seconds.into(), 1, MAX_ALLOCATION_SECONDS.into()))
            .or_else(|| bad_time_until("expires_at_ms", a.expires_at_ms, at, i64::from(a.duration_seconds) * 1000)),
    )
}

pub fn validate_create_allocation_release(author: &AgentPubKey, r: &AllocationRelease) -> ExternResult<ValidateCallbackResult> {
    if let Some(reason) = bad_label("reason", &r.reason, MAX_REASON_LEN) {
        return invalid(reason);
    }
    let (record, allocation) = match must_get_typed_record::<Allocation, _>(r.allocation.clone(), UnitEntryTypes::Allocation)? {
        Ok(found) => found,
        Err(reason) => return invalid(format!("release.allocation: {reason}")),
    };
    if record.action().author() != author && allocation.provider.as_ref() != Some(author) {
        return invalid("only the allocation's requester or its provider may release it");
    }
    Ok(ValidateCallbackResult::Valid)
}
