//! `Heartbeat`: a node's periodic "still here" with its live load. Only the agent itself may
//! write it. Heartbeats are indexed in per-minute buckets so "nodes heard from since T" reads
//! only the buckets after T.
use crate::node_capability::{bad_load, Load, MAX_CONCURRENT_JOBS};
use hdi::prelude::*;
use ripple_integrity_common::*;

pub const HEARTBEAT_STATUS: [&str; 2] = ["online", "offline"];
pub const HEARTBEAT_BUCKET_SECONDS: i64 = 60;

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub agent: AgentPubKey,
    /// "offline" is written on a clean shutdown.
    pub status: String,
    pub load: Load,
    pub active_jobs: u32,
}

pub fn validate_create_heartbeat(author: &AgentPubKey, h: &Heartbeat) -> ExternResult<ValidateCallbackResult> {
    if &h.agent != author {
        return invalid("a Heartbeat can only be written by the agent it describes");
    }
    verdict(
        not_one_of("status", &h.status, &HEARTBEAT_STATUS)
            .or_else(|| bad_load(&h.load))
            .or_else(|| bad_u64("active_jobs", h.active_jobs.into(), 0, MAX_CONCURRENT_JOBS)),
    )
}

/// The bucket a timestamp falls in (minutes since the Unix epoch).
pub fn heartbeat_bucket(at: Timestamp) -> i64 {
    at.as_seconds_and_nanos().0.div_euclid(HEARTBEAT_BUCKET_SECONDS)
}

pub fn heartbeat_bucket_hash(bucket: i64) -> ExternResult<EntryHash> {
    path_hash(&["heartbeats", &bucket.to_string()])
}
