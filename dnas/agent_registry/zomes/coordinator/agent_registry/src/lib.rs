//! Coordinator zome of `agent_registry`: publish this node's capability and list everyone's.
use agent_registry_integrity::*;
use hdk::prelude::*;
use ripple_coordinator_common::linked_valid_entries;

/// A capability as other nodes see it: the record's hash, author and content.
#[derive(Serialize, Deserialize, Debug)]
pub struct CapabilityRecord {
    pub action_hash: ActionHash,
    pub author: AgentPubKey,
    pub timestamp: Timestamp,
    pub capability: NodeCapability,
}

/// Publish (a new version of) this node's capability and index it under `all_nodes`.
#[hdk_extern]
pub fn publish_capability(capability: NodeCapability) -> ExternResult<ActionHash> {
    let action_hash = create_entry(&EntryTypes::NodeCapability(capability))?;
    create_link(
        all_nodes_anchor_hash()?,
        action_hash.clone(),
        LinkTypes::AllNodes,
        (),
    )?;
    Ok(action_hash)
}

/// Every valid capability record indexed under `all_nodes`, as seen from the network.
#[hdk_extern]
pub fn list_capabilities(_: ()) -> ExternResult<Vec<CapabilityRecord>> {
    let found = linked_valid_entries::<NodeCapability>(all_nodes_anchor_hash()?.into(), LinkTypes::AllNodes)?;
    Ok(found
        .into_iter()
        .map(|(action_hash, record, capability)| CapabilityRecord {
            action_hash,
            author: record.action().author().clone(),
            timestamp: record.action().timestamp(),
            capability,
        })
        .collect())
}
