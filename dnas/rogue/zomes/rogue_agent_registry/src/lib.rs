//! Rogue coordinator for agent_registry (tests only): publishes a capability in another agent's
//! name and links the model index to it. An honest node must neither return nor count either.
use agent_registry_integrity::*;
use hdk::prelude::*;

/// Commit `capability` exactly as given (any `agent`, any signatures) and index it.
#[hdk_extern]
pub fn forge_capability(capability: NodeCapability) -> ExternResult<ActionHash> {
    let keys: Vec<String> = capability.inference.models_loaded.iter().flat_map(|m| m.sha256.iter().cloned()).collect();
    let hash = create_entry(&EntryTypes::NodeCapability(capability))?;
    create_link(all_nodes_anchor_hash()?, hash.clone(), LinkTypes::AllNodes, ())?;
    for key in keys {
        create_link(model_index_hash(&key)?, hash.clone(), LinkTypes::ModelToCapabilities, LinkTag::new(key.into_bytes()))?;
    }
    Ok(hash)
}
