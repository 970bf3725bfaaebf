//! Integrity zome of `agent_registry`: the rules every peer enforces on what a node may publish
//! about itself. Deny by default: an op this file does not recognise is invalid.
use hdi::prelude::*;
use ripple_integrity_common::validate_append_only_activity;

mod all_nodes_link;
mod node_capability;

pub use all_nodes_link::*;
pub use node_capability::*;

#[derive(Serialize, Deserialize)]
#[serde(tag = "type")]
#[hdk_entry_types]
#[unit_enum(UnitEntryTypes)]
pub enum EntryTypes {
    NodeCapability(NodeCapability),
}

#[derive(Serialize, Deserialize)]
#[hdk_link_types]
pub enum LinkTypes {
    /// From the `all_nodes` anchor to every capability record.
    AllNodes,
}

#[hdk_extern]
pub fn genesis_self_check(_data: GenesisSelfCheckData) -> ExternResult<ValidateCallbackResult> {
    Ok(ValidateCallbackResult::Valid)
}

#[hdk_extern]
pub fn validate(op: Op) -> ExternResult<ValidateCallbackResult> {
    match op.flattened::<EntryTypes, LinkTypes>()? {
        FlatOp::CreateEntry(OpEntry::CreateEntry { app_entry, action }) => match app_entry {
            EntryTypes::NodeCapability(capability) => {
                validate_create_node_capability(action.author(), &capability)
            }
        },
        FlatOp::CreateRecord(OpRecord::CreateEntry { app_entry, action }) => match app_entry {
            EntryTypes::NodeCapability(capability) => {
                validate_create_node_capability(action.author(), &capability)
            }
        },
        FlatOp::Link(OpLink::CreateLink { link_type, action })
        | FlatOp::CreateRecord(OpRecord::CreateLink { link_type, action }) => match link_type {
            LinkTypes::AllNodes => validate_create_all_nodes_link(&action),
        },
        FlatOp::AgentActivity(activity) => Ok(validate_append_only_activity("agent_registry", activity)),
        // Agent keys, the DNA action and the genesis actions are checked by sys validation.
        FlatOp::CreateEntry(OpEntry::CreateAgent { .. })
        | FlatOp::CreateRecord(OpRecord::CreateAgent { .. })
        | FlatOp::CreateRecord(OpRecord::Dna { .. })
        | FlatOp::CreateRecord(OpRecord::AgentValidationPkg { .. })
        | FlatOp::CreateRecord(OpRecord::InitZomesComplete { .. }) => {
            Ok(ValidateCallbackResult::Valid)
        }
        // Capability grants are private to their author's source chain (the conductor writes them
        // for signing credentials); they only reach validation as activity and records.
        FlatOp::CreateEntry(OpEntry::CreateCapGrant { .. })
        | FlatOp::CreateRecord(OpRecord::CreateCapGrant { .. }) => Ok(ValidateCallbackResult::Valid),
        other => Ok(ValidateCallbackResult::Invalid(format!(
            "agent_registry does not allow this operation yet: {other:?}"
        ))),
    }
}
