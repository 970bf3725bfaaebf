//! Integrity zome of `agent_registry`: the rules every peer enforces on what a node may publish
//! about itself. Deny by default: an op this file does not recognise is invalid.
use hdi::prelude::*;
use ripple_integrity_common::validate_op;

mod heartbeat;
mod links;
mod node_capability;
mod peer_binding;

pub use heartbeat::*;
pub use links::*;
pub use node_capability::*;
pub use peer_binding::*;

#[derive(Serialize, Deserialize)]
#[serde(tag = "type")]
#[hdk_entry_types]
#[unit_enum(UnitEntryTypes)]
pub enum EntryTypes {
    NodeCapability(NodeCapability),
    Heartbeat(Heartbeat),
}

#[derive(Serialize, Deserialize)]
#[hdk_link_types]
pub enum LinkTypes {
    /// `all_nodes` anchor → every capability record.
    AllNodes,
    /// Agent key → its own capability records (the latest one is current).
    AgentToCapabilities,
    /// `models/<sha256 or CID>` → capabilities that hold the model (tag = the key).
    ModelToCapabilities,
    /// `heartbeats/<minute>` → heartbeats written in that minute.
    HeartbeatBucket,
    /// `capabilities/<10 minutes>` → the author's current capability while it is alive then.
    CapabilityBucket,
}

#[hdk_extern]
pub fn genesis_self_check(_data: GenesisSelfCheckData) -> ExternResult<ValidateCallbackResult> {
    Ok(ValidateCallbackResult::Valid)
}

fn validate_create_entry(author: &AgentPubKey, _at: Timestamp, entry: EntryTypes) -> ExternResult<ValidateCallbackResult> {
    match entry {
        EntryTypes::NodeCapability(capability) => validate_create_node_capability(author, &capability),
        EntryTypes::Heartbeat(heartbeat) => validate_create_heartbeat(author, &heartbeat),
    }
}

fn validate_create_link(link_type: LinkTypes, action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    match link_type {
        LinkTypes::AllNodes => validate_all_nodes_link(action),
        LinkTypes::AgentToCapabilities => validate_agent_to_capabilities_link(action),
        LinkTypes::ModelToCapabilities => validate_model_to_capabilities_link(action),
        LinkTypes::HeartbeatBucket => validate_heartbeat_bucket_link(action),
        LinkTypes::CapabilityBucket => validate_capability_bucket_link(action),
    }
}

#[hdk_extern]
pub fn validate(op: Op) -> ExternResult<ValidateCallbackResult> {
    validate_op::<EntryTypes, LinkTypes>("agent_registry", &op, validate_create_entry, validate_create_link)
}
