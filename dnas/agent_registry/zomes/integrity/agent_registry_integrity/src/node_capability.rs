//! `NodeCapability`: what a node says it can do (seed schema). Only the agent it describes may
//! write it; every number and string is bounded. A new version is a new record (append-only);
//! readers take each agent's latest.
use crate::peer_binding::{validate_peer_binding, PeerBinding};
use hdi::prelude::*;
use ripple_integrity_common::*;

pub const MAX_NAME_LEN: usize = 64;
pub const MAX_LABEL_LEN: usize = 32;
pub const MAX_MODEL_NAME_LEN: usize = 128;
pub const MAX_MODELS: usize = 64;
pub const MAX_CPU_CORES: u64 = 4096;
pub const MAX_GB: f64 = 1.0e7;
pub const MAX_TOKENS_PER_SECOND: f64 = 1.0e6;
pub const MAX_BATCH_SIZE: u64 = 4096;
pub const MAX_CONCURRENT_JOBS: u64 = 1024;
pub const AVAILABILITY: [&str; 4] = ["online", "busy", "draining", "offline"];
/// The llama.cpp backends a node can serve on (node-llama-cpp's names).
pub const BACKENDS: [&str; 4] = ["cpu", "cuda", "vulkan", "metal"];

#[derive(Serialize, Deserialize, SerializedBytes, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Gpu {
    pub vendor: String,
    pub model: String,
    pub vram_gb: f64,
}

#[derive(Serialize, Deserialize, SerializedBytes, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Compute {
    pub cpu_cores: u32,
    pub cpu_arch: String,
    pub ram_gb: f64,
    pub gpu: Option<Gpu>,
}

#[derive(Serialize, Deserialize, SerializedBytes, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    pub local_ssd_gb: f64,
    pub ipfs_pinned_gb: f64,
}

/// A model a node holds, named and identified by its GGUF's sha256 and/or IPFS CID.
#[derive(Serialize, Deserialize, SerializedBytes, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    pub name: String,
    pub sha256: Option<String>,
    pub cid: Option<String>,
}

impl ModelRef {
    /// Whether `key` (a sha256 or a CID) identifies this model.
    pub fn is_identified_by(&self, key: &str) -> bool {
        self.sha256.as_deref() == Some(key) || self.cid.as_deref() == Some(key)
    }
}

#[derive(Serialize, Deserialize, SerializedBytes, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Inference {
    pub models_loaded: Vec<ModelRef>,
    pub max_batch_size: u32,
    pub tokens_per_second: f64,
    /// The llama.cpp backend that serves (and measured `tokens_per_second`): one of `BACKENDS`; a
    /// GPU backend only with a `compute.gpu`.
    pub backend: String,
}

#[derive(Serialize, Deserialize, SerializedBytes, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    pub total_gb: f64,
    pub available_gb: f64,
}

#[derive(Serialize, Deserialize, SerializedBytes, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub bandwidth_mbps: f64,
    pub latency_region: String,
}

#[derive(Serialize, Deserialize, SerializedBytes, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    /// One of `AVAILABILITY`.
    pub status: String,
    pub max_concurrent_jobs: u32,
}

#[derive(Serialize, Deserialize, SerializedBytes, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Load {
    pub cpu_percent: f64,
    pub gpu_percent: f64,
    pub memory_percent: f64,
}

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeCapability {
    /// The agent this capability describes; must be the author of the record.
    pub agent: AgentPubKey,
    pub agent_name: String,
    pub hardware_class: String,
    pub compute: Compute,
    pub storage: Storage,
    pub inference: Inference,
    pub memory: Memory,
    pub network: Network,
    pub availability: Availability,
    pub load: Load,
    /// The node's libp2p identity, bound to the agent key by two signatures.
    pub peer: PeerBinding,
}

pub fn validate_create_node_capability(author: &AgentPubKey, c: &NodeCapability) -> ExternResult<ValidateCallbackResult> {
    if &c.agent != author {
        return invalid("a NodeCapability can only be written by the agent it describes");
    }
    if let Some(reason) = bad_label("agent_name", &c.agent_name, MAX_NAME_LEN)
        .or_else(|| bad_label("hardware_class", &c.hardware_class, MAX_LABEL_LEN))
        .or_else(|| bad_compute(&c.compute))
        .or_else(|| bad_f64("storage.local_ssd_gb", c.storage.local_ssd_gb, 0.0, MAX_GB))
        .or_else(|| bad_f64("storage.ipfs_pinned_gb", c.storage.ipfs_pinned_gb, 0.0, MAX_GB))
        .or_else(|| bad_inference(&c.inference))
        .or_else(|| (c.inference.backend != "cpu" && c.compute.gpu.is_none()).then(|| format!("inference.backend {:?} needs a compute.gpu", c.inference.backend)))
        .or_else(|| bad_memory(&c.memory))
        .or_else(|| bad_f64("network.bandwidth_mbps", c.network.bandwidth_mbps, 0.0, 1.0e7))
        .or_else(|| bad_label("network.latency_region", &c.network.latency_region, MAX_LABEL_LEN))
        .or_else(|| not_one_of("availability.status", &c.availability.status, &AVAILABILITY))
        .or_else(|| bad_u64("availability.max_concurrent_jobs", c.availability.max_concurrent_jobs.into(), 0, MAX_CONCURRENT_JOBS))
        .or_else(|| bad_load(&c.load))
    {
        return invalid(reason);
    }
    validate_peer_binding(author, &c.peer)
}

fn bad_compute(c: &Compute) -> Option<String> {
    bad_u64("compute.cpu_cores", c.cpu_cores.into(), 1, MAX_CPU_CORES)
        .or_else(|| bad_label("compute.cpu_arch", &c.cpu_arch, MAX_LABEL_LEN))
        .or_else(|| bad_f64("compute.ram_gb", c.ram_gb, 0.0, MAX_GB))
        .or_else(|| {
            c.gpu.as_ref().and_then(|g| {
                bad_label("compute.gpu.vendor", &g.vendor, MAX_LABEL_LEN)
                    .or_else(|| bad_label("compute.gpu.model", &g.model, MAX_MODEL_NAME_LEN))
                    .or_else(|| bad_f64("compute.gpu.vram_gb", g.vram_gb, 0.0, MAX_GB))
            })
        })
}

fn bad_inference(i: &Inference) -> Option<String> {
    too_many("inference.models_loaded", &i.models_loaded, MAX_MODELS)
        .or_else(|| i.models_loaded.iter().find_map(bad_model_ref))
        .or_else(|| bad_u64("inference.max_batch_size", i.max_batch_size.into(), 1, MAX_BATCH_SIZE))
        .or_else(|| bad_f64("inference.tokens_per_second", i.tokens_per_second, 0.0, MAX_TOKENS_PER_SECOND))
        .or_else(|| not_one_of("inference.backend", &i.backend, &BACKENDS))
}

pub fn bad_model_ref(m: &ModelRef) -> Option<String> {
    bad_label("model.name", &m.name, MAX_MODEL_NAME_LEN)
        .or_else(|| m.sha256.as_ref().and_then(|s| bad_sha256("model.sha256", s)))
        .or_else(|| bad_optional_label("model.cid", &m.cid, MAX_CID_LEN))
        .or_else(|| (m.sha256.is_none() && m.cid.is_none()).then(|| format!("model {:?} needs a sha256 or a cid", m.name)))
}

fn bad_memory(m: &Memory) -> Option<String> {
    bad_f64("memory.total_gb", m.total_gb, 0.0, MAX_GB)
        .or_else(|| bad_f64("memory.available_gb", m.available_gb, 0.0, m.total_gb))
}

pub fn bad_load(l: &Load) -> Option<String> {
    bad_f64("load.cpu_percent", l.cpu_percent, 0.0, 100.0)
        .or_else(|| bad_f64("load.gpu_percent", l.gpu_percent, 0.0, 100.0))
        .or_else(|| bad_f64("load.memory_percent", l.memory_percent, 0.0, 100.0))
}
