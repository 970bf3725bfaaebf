//! Coordinator zome of `agent_registry`: publish this node's capability and heartbeats; list the
//! mesh's nodes (latest capability per agent), the nodes holding a model, and the nodes heard
//! from since a time. Reads keep only validated records (ripple_coordinator_common).
use agent_registry_integrity::*;
use hdk::prelude::*;
use ripple_coordinator_common::*;

/// How far back `get_nodes_since` may look: it reads one bucket per minute.
pub const MAX_SINCE_BUCKETS: i64 = 120;

/// A capability as other nodes see it.
#[derive(Serialize, Deserialize, Debug)]
pub struct CapabilityRecord {
    pub action_hash: ActionHash,
    pub author: AgentPubKey,
    pub timestamp: Timestamp,
    pub capability: NodeCapability,
}

impl From<Found<NodeCapability>> for CapabilityRecord {
    fn from(f: Found<NodeCapability>) -> Self {
        CapabilityRecord { action_hash: f.action_hash, author: f.author, timestamp: f.timestamp, capability: f.entry }
    }
}

#[derive(Serialize, Deserialize, Debug)]
pub struct HeartbeatInput {
    pub status: String,
    pub load: Load,
    pub active_jobs: u32,
}

/// A node heard from: its newest heartbeat and, if it published one, its latest capability.
#[derive(Serialize, Deserialize, Debug)]
pub struct NodeStatus {
    pub agent: AgentPubKey,
    pub heartbeat: Found<Heartbeat>,
    pub capability: Option<CapabilityRecord>,
}

/// Publish (a new version of) this node's capability. `agent` and `peer.agent_signature` are
/// filled in here from this cell's agent key; the caller provides `peer.peer_signature`.
#[hdk_extern]
pub fn publish_capability(mut capability: NodeCapability) -> ExternResult<ActionHash> {
    let me = agent_info()?.agent_initial_pubkey;
    capability.agent = me.clone();
    capability.peer.agent_signature = sign_raw(me.clone(), peer_binding_message(&capability.peer.peer_id))?;
    let model_keys: Vec<String> = capability
        .inference
        .models_loaded
        .iter()
        .flat_map(|m| m.sha256.iter().chain(m.cid.iter()).cloned())
        .collect();
    let hash = create_entry(&EntryTypes::NodeCapability(capability))?;
    create_link(all_nodes_anchor_hash()?, hash.clone(), LinkTypes::AllNodes, ())?;
    create_link(capability_bucket_hash(capability_bucket(sys_time()?))?, hash.clone(), LinkTypes::CapabilityBucket, ())?;
    create_link(me, hash.clone(), LinkTypes::AgentToCapabilities, ())?;
    for key in model_keys {
        create_link(model_index_hash(&key)?, hash.clone(), LinkTypes::ModelToCapabilities, LinkTag::new(key.into_bytes()))?;
    }
    Ok(hash)
}

fn honest_capability(found: &Found<NodeCapability>) -> ExternResult<bool> {
    entry_rules_hold(validate_create_node_capability(&found.author, &found.entry))
}

fn honest_heartbeat(found: &Found<Heartbeat>) -> ExternResult<bool> {
    entry_rules_hold(validate_create_heartbeat(&found.author, &found.entry))
}

/// Every valid capability version indexed under `all_nodes`, newest first.
#[hdk_extern]
pub fn list_capabilities(_: ()) -> ExternResult<Vec<CapabilityRecord>> {
    let found = linked_valid_where(all_nodes_anchor_hash()?, LinkTypes::AllNodes, honest_capability)?;
    Ok(found.into_iter().map(Into::into).collect())
}

/// One entry per node: its latest valid capability.
#[hdk_extern]
pub fn list_nodes(_: ()) -> ExternResult<Vec<CapabilityRecord>> {
    let links = links_newest_first(all_nodes_anchor_hash()?, LinkTypes::AllNodes)?;
    let mut nodes = Vec::new();
    for author in link_authors(&links) {
        nodes.extend(newest_valid_by::<NodeCapability>(&links, &author, honest_capability)?.map(CapabilityRecord::from));
    }
    Ok(nodes)
}

/// The latest valid capability of `agent`.
#[hdk_extern]
pub fn get_capability(agent: AgentPubKey) -> ExternResult<Option<CapabilityRecord>> {
    let links = links_newest_first(agent.clone(), LinkTypes::AgentToCapabilities)?;
    Ok(newest_valid_by::<NodeCapability>(&links, &agent, honest_capability)?.map(Into::into))
}

/// Nodes whose *latest* capability holds the model with this sha256 or CID: a node that dropped
/// the model in a newer capability is not returned.
#[hdk_extern]
pub fn get_nodes_with_model(model_key: String) -> ExternResult<Vec<CapabilityRecord>> {
    let links = links_newest_first(model_index_hash(&model_key)?, LinkTypes::ModelToCapabilities)?;
    let mut holders = Vec::new();
    for author in link_authors(&links) {
        if let Some(latest) = get_capability(author)? {
            if latest.capability.inference.models_loaded.iter().any(|m| m.is_identified_by(&model_key)) {
                holders.push(latest);
            }
        }
    }
    Ok(holders)
}

/// This node's latest capability, read from its own source chain only: no network round trip, so it
/// answers at once even while peers that died are still in the peer store.
#[hdk_extern]
pub fn get_my_capability(_: ()) -> ExternResult<Option<CapabilityRecord>> {
    let Some(record) = my_latest_capability()? else { return Ok(None) };
    let Some(capability) = record.entry().to_app_option::<NodeCapability>().map_err(|e| wasm_error!(e))? else { return Ok(None) };
    let action = record.action();
    Ok(Some(CapabilityRecord { action_hash: record.action_address().clone(), author: action.author().clone(), timestamp: action.timestamp(), capability }))
}

fn my_latest_capability() -> ExternResult<Option<Record>> {
    let filter = ChainQueryFilter::new()
        .entry_type(UnitEntryTypes::NodeCapability.try_into()?)
        .include_entries(true);
    Ok(query(filter)?.pop())
}

/// Keeps this node findable by the mesh view: its latest capability is linked into the current
/// capability bucket once per bucket (the heartbeat that finds the bucket without a link of ours).
fn refresh_capability_link() -> ExternResult<()> {
    let me = agent_info()?.agent_initial_pubkey;
    let bucket = capability_bucket_hash(capability_bucket(sys_time()?))?;
    let links = get_links(LinkQuery::new(bucket.clone(), LinkTypes::CapabilityBucket.try_into_filter()?), GetStrategy::Local)?;
    if links.iter().any(|l| l.author == me) {
        return Ok(());
    }
    if let Some(capability) = my_latest_capability()? {
        create_link(bucket, capability.action_address().clone(), LinkTypes::CapabilityBucket, ())?;
    }
    Ok(())
}

#[hdk_extern]
pub fn publish_heartbeat(input: HeartbeatInput) -> ExternResult<ActionHash> {
    let heartbeat = Heartbeat { agent: agent_info()?.agent_initial_pubkey, status: input.status.clone(), load: input.load, active_jobs: input.active_jobs };
    let hash = create_entry(&EntryTypes::Heartbeat(heartbeat))?;
    // The link must sit in the bucket of the heartbeat's own action timestamp.
    let Some(record) = get(hash.clone(), GetOptions::local())? else {
        return Err(wasm_error!(WasmErrorInner::Guest("the heartbeat just written is missing from the source chain".into())));
    };
    let bucket = heartbeat_bucket(record.action().timestamp());
    create_link(heartbeat_bucket_hash(bucket)?, hash.clone(), LinkTypes::HeartbeatBucket, ())?;
    if input.status == "online" {
        refresh_capability_link()?;
    }
    Ok(hash)
}

/// Every node whose newest valid heartbeat is at or after `since`, with its latest capability.
#[hdk_extern]
pub fn get_nodes_since(since: Timestamp) -> ExternResult<Vec<NodeStatus>> {
    let mut nodes = Vec::new();
    for heartbeat in newest_heartbeats_since(since, GetStrategy::Network)? {
        let capability = get_capability(heartbeat.author.clone())?;
        nodes.push(NodeStatus { agent: heartbeat.author.clone(), heartbeat, capability });
    }
    Ok(nodes)
}

#[derive(Serialize, Deserialize, Debug)]
pub struct MeshViewInput {
    /// Heartbeats at or after this time (within the last MAX_SINCE_BUCKETS minutes).
    pub since: Timestamp,
    /// Read only this node's own store (fast, never waits on the network).
    pub local_only: bool,
}

/// What a node needs to show its mesh, in one call: every node's latest capability and every
/// node's newest heartbeat since `since`.
#[derive(Serialize, Deserialize, Debug)]
pub struct MeshView {
    pub nodes: Vec<CapabilityRecord>,
    pub heartbeats: Vec<Found<Heartbeat>>,
}

/// Read every second by every daemon, so its cost depends on the window, not on the history: the
/// capabilities come from the capability buckets since `since` (a node alive then linked its
/// current capability there), the heartbeats from the per-minute buckets since `since`.
#[hdk_extern]
pub fn get_mesh_view(input: MeshViewInput) -> ExternResult<MeshView> {
    let strategy = if input.local_only { GetStrategy::Local } else { GetStrategy::Network };
    let heartbeats = newest_heartbeats_since(input.since, strategy.clone())?;
    let mut links = Vec::new();
    for bucket in capability_bucket(input.since)..=capability_bucket(sys_time()?) {
        links.extend(links_newest_first_by(capability_bucket_hash(bucket)?, LinkTypes::CapabilityBucket, strategy.clone())?);
    }
    sort_newest_first(&mut links);
    let mut nodes = Vec::new();
    for author in link_authors(&links) {
        nodes.extend(newest_valid_by::<NodeCapability>(&links, &author, honest_capability)?.map(CapabilityRecord::from));
    }
    Ok(MeshView { nodes, heartbeats })
}

/// Diagnostic: what one `get_mesh_view` read touches (links and records), to check that it does
/// not grow with the mesh's history.
#[hdk_extern]
pub fn get_mesh_view_read_cost(input: MeshViewInput) -> ExternResult<ReadCost> {
    Ok(measure_reads(|| get_mesh_view(input))?.1)
}

/// Per agent, its newest valid heartbeat at or after `since`, read from the per-minute buckets.
fn newest_heartbeats_since(since: Timestamp, strategy: GetStrategy) -> ExternResult<Vec<Found<Heartbeat>>> {
    let (first, last) = (heartbeat_bucket(since), heartbeat_bucket(sys_time()?));
    if last - first >= MAX_SINCE_BUCKETS {
        return Err(wasm_error!(WasmErrorInner::Guest(format!(
            "since must be within the last {MAX_SINCE_BUCKETS} minutes; use list_nodes for older nodes"
        ))));
    }
    let mut links = Vec::new();
    for bucket in first..=last {
        links.extend(links_newest_first_by(heartbeat_bucket_hash(bucket)?, LinkTypes::HeartbeatBucket, strategy.clone())?);
    }
    links.retain(|l| l.timestamp >= since);
    sort_newest_first(&mut links);
    let mut heartbeats = Vec::new();
    for agent in link_authors(&links) {
        if let Some(heartbeat) = newest_valid_by::<Heartbeat>(&links, &agent, honest_heartbeat)? {
            if heartbeat.timestamp >= since {
                heartbeats.push(heartbeat);
            }
        }
    }
    Ok(heartbeats)
}

/// Diagnostic: how this node sees the record at `hash` (Valid / Rejected / Abandoned).
#[hdk_extern]
pub fn validation_status(hash: ActionHash) -> ExternResult<Option<ValidationStatus>> {
    validation_status_of(hash)
}
