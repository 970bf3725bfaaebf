//! Index links. Each points at a record of its author (readers keep only valid ones), from the base that record belongs
//! under, so nobody can list a node they are not or file a record under the wrong key.
use crate::{UnitEntryTypes, heartbeat_bucket, heartbeat_bucket_hash, Heartbeat, NodeCapability};
use hdi::prelude::*;
use ripple_integrity_common::*;

pub fn all_nodes_anchor_hash() -> ExternResult<EntryHash> {
    path_hash(&["all_nodes"])
}

/// Capability buckets are 10 minutes long: a live node links its current capability into every
/// bucket it is alive in (at publish, then at its first heartbeat of each bucket), so "nodes live
/// since T" reads the buckets after T (two for the mesh view's 10 minutes), whatever the history.
pub const CAPABILITY_BUCKET_SECONDS: i64 = 600;

/// The capability bucket a timestamp falls in (10-minute periods since the Unix epoch).
pub fn capability_bucket(at: Timestamp) -> i64 {
    at.as_seconds_and_nanos().0.div_euclid(CAPABILITY_BUCKET_SECONDS)
}

pub fn capability_bucket_hash(bucket: i64) -> ExternResult<EntryHash> {
    path_hash(&["capabilities", &bucket.to_string()])
}

pub fn model_index_hash(model_key: &str) -> ExternResult<EntryHash> {
    path_hash(&["models", model_key])
}

fn own_capability(action: &TypedAction<CreateLinkData>) -> ExternResult<Result<NodeCapability, String>> {
    Ok(own_link_target::<NodeCapability, _>(action, UnitEntryTypes::NodeCapability)?.map(|(_, c)| c))
}

pub fn validate_all_nodes_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    if action.base_address != all_nodes_anchor_hash()?.into() {
        return invalid("an AllNodes link must start at the all_nodes anchor");
    }
    verdict(bad_tag(action).or(own_capability(action)?.err()))
}

pub fn validate_agent_to_capabilities_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    if action.base_address != action.author().clone().into() {
        return invalid("an AgentToCapabilities link must start at its author's agent key");
    }
    verdict(bad_tag(action).or(own_capability(action)?.err()))
}

/// The tag holds the model key (sha256 or CID) so the base can be checked against it.
pub fn validate_model_to_capabilities_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    let Ok(key) = String::from_utf8(action.tag.0.clone()) else {
        return invalid("a ModelToCapabilities tag must be the model key (utf-8)");
    };
    if action.base_address != model_index_hash(&key)?.into() {
        return invalid("a ModelToCapabilities link must start at the index entry of the model in its tag");
    }
    verdict(match own_capability(action)? {
        Ok(c) if c.inference.models_loaded.iter().any(|m| m.is_identified_by(&key)) => None,
        Ok(_) => Some(format!("the linked capability does not hold model {key}")),
        Err(reason) => Some(reason),
    })
}

pub fn validate_heartbeat_bucket_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    let (record, _) = match own_link_target::<Heartbeat, _>(action, UnitEntryTypes::Heartbeat)? {
        Ok(found) => found,
        Err(reason) => return invalid(reason),
    };
    let bucket = heartbeat_bucket(record.action().timestamp());
    if action.base_address != heartbeat_bucket_hash(bucket)?.into() {
        return invalid("a HeartbeatBucket link must start at the bucket of the heartbeat's timestamp");
    }
    verdict(bad_tag(action))
}

/// The bucket is the link's own time (a refresh links an older capability), or the bucket before:
/// the writer picks the bucket from its clock just before the conductor stamps the link.
pub fn validate_capability_bucket_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    let bucket = capability_bucket(action.timestamp());
    let allowed: [AnyLinkableHash; 2] = [capability_bucket_hash(bucket)?.into(), capability_bucket_hash(bucket - 1)?.into()];
    if !allowed.contains(&action.base_address) {
        return invalid("a CapabilityBucket link must start at the bucket of its own timestamp (or the one before)");
    }
    verdict(bad_tag(action).or(own_capability(action)?.err()))
}
