//! Coordinator zome of `agent_registry`: publish this node's capability and list everyone's.
use agent_registry_integrity::*;
use hdk::prelude::*;

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
    let query = LinkQuery::try_new(all_nodes_anchor_hash()?, LinkTypes::AllNodes)?;
    let links = get_links(query, GetStrategy::Network)?;
    let mut records = Vec::with_capacity(links.len());
    for link in links {
        let Some(action_hash) = link.target.into_action_hash() else {
            continue;
        };
        if let Some(record) = get_valid_capability(action_hash)? {
            records.push(record);
        }
    }
    Ok(records)
}

/// Reads through `get_details` so that records the network marked invalid are dropped: plain `get`
/// returns rejected data too (DESIGN.md, "Rogue data is returned unless you filter it").
fn get_valid_capability(action_hash: ActionHash) -> ExternResult<Option<CapabilityRecord>> {
    let Some(Details::Record(details)) = get_details(action_hash.clone(), GetOptions::network())?
    else {
        return Ok(None);
    };
    if details.validation_status != ValidationStatus::Valid {
        return Ok(None);
    }
    let record = details.record;
    let Ok(Some(capability)) = record.entry().to_app_option::<NodeCapability>() else {
        return Ok(None);
    };
    Ok(Some(CapabilityRecord {
        action_hash,
        author: record.action().author().clone(),
        timestamp: record.action().timestamp(),
        capability,
    }))
}
