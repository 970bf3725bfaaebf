//! agent_registry vectors: NodeCapability (gpu Some / None), Heartbeat, and the coordinator's
//! main inputs/outputs. Also: integral floats as the TS client writes them decode in Rust.
//! (One test binary per DNA: see the crate docs.)
use agent_registry_integrity::*;
use hdi::prelude::*;
use ripple_test_vectors::*;

// SHA_MODEL: shared with the other DNAs' vectors. The phi and qwen models are this DNA's own.
const SHA_PHI: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b856";
const CID_QWEN: &str = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
const CID_PHI: &str = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG";
const PEER_ID_A: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
const PEER_ID_B: &str = "12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE";

// --- mirrors of dnas/agent_registry/zomes/coordinator/agent_registry/src/lib.rs -------------

/// `agent_registry::CapabilityRecord`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct CapabilityRecord {
    action_hash: ActionHash,
    author: AgentPubKey,
    timestamp: Timestamp,
    capability: NodeCapability,
}

/// `agent_registry::HeartbeatInput`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct HeartbeatInput {
    status: String,
    load: Load,
    active_jobs: u32,
}

/// `agent_registry::NodeStatus`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct NodeStatus {
    agent: AgentPubKey,
    heartbeat: Found<Heartbeat>,
    capability: Option<CapabilityRecord>,
}

// --- samples --------------------------------------------------------------------------------

fn load() -> Load {
    Load { cpu_percent: 12.5, gpu_percent: 37.25, memory_percent: 35.5 }
}

fn peer(peer_id: &str, multiaddrs: &[&str], sig_seed: u8) -> PeerBinding {
    PeerBinding {
        peer_id: peer_id.into(),
        multiaddrs: multiaddrs.iter().map(|a| a.to_string()).collect(),
        agent_signature: signature(sig_seed),
        peer_signature: signature(sig_seed.wrapping_add(0x40)),
    }
}

/// A GPU node: gpu `Some`, one model by sha256 only and one by CID only, non-ASCII name.
fn capability_gpu() -> NodeCapability {
    NodeCapability {
        agent: agent(0x10),
        agent_name: "nœud-α.ripple".into(),
        hardware_class: "gpu-workstation".into(),
        compute: Compute {
            cpu_cores: 16,
            cpu_arch: "x86_64".into(),
            ram_gb: 63.5,
            gpu: Some(Gpu { vendor: "nvidia".into(), model: "GeForce RTX 4090".into(), vram_gb: 23.5 }),
        },
        storage: Storage { local_ssd_gb: 1862.25, ipfs_pinned_gb: 120.75 },
        inference: Inference {
            models_loaded: vec![
                ModelRef { name: "llama-3.1-8b-instruct-q4_k_m.gguf".into(), sha256: Some(SHA_MODEL.into()), cid: None },
                ModelRef { name: "qwen2.5-7b-instruct".into(), sha256: None, cid: Some(CID_QWEN.into()) },
            ],
            max_batch_size: 8,
            tokens_per_second: 87.25,
            backend: "cuda".into(),
        },
        memory: Memory { total_gb: 62.75, available_gb: 40.5 },
        network: Network { bandwidth_mbps: 940.5, latency_region: "eu-west".into() },
        availability: Availability { status: "online".into(), max_concurrent_jobs: 4 },
        load: load(),
        peer: peer(PEER_ID_A, &["/ip4/192.168.1.20/tcp/4001", "/ip4/192.168.1.20/udp/4001/quic-v1"], 0x40),
    }
}

/// A CPU-only node: gpu `None`, one model with both sha256 and CID, no multiaddrs.
fn capability_no_gpu() -> NodeCapability {
    NodeCapability {
        agent: agent(0x11),
        agent_name: "cpu-node-1".into(),
        hardware_class: "cpu-server".into(),
        compute: Compute { cpu_cores: 128, cpu_arch: "aarch64".into(), ram_gb: 255.5, gpu: None },
        storage: Storage { local_ssd_gb: 3725.5, ipfs_pinned_gb: 0.5 },
        inference: Inference {
            models_loaded: vec![ModelRef { name: "phi-3-mini-4k".into(), sha256: Some(SHA_PHI.into()), cid: Some(CID_PHI.into()) }],
            max_batch_size: 1,
            tokens_per_second: 12.75,
            backend: "cpu".into(),
        },
        memory: Memory { total_gb: 255.5, available_gb: 200.25 },
        network: Network { bandwidth_mbps: 9400.5, latency_region: "us-east".into() },
        availability: Availability { status: "draining".into(), max_concurrent_jobs: 0 },
        load: Load { cpu_percent: 88.5, gpu_percent: 0.5, memory_percent: 60.25 },
        peer: peer(PEER_ID_B, &[], 0x90),
    }
}

/// The GPU node with integral floats (64, 24, 0, 100, …: what a JS client holds as integers),
/// plus one non-integral float (cpu_percent 12.5) to show the two mix.
fn capability_integral_floats() -> NodeCapability {
    let mut c = capability_gpu();
    c.compute.ram_gb = 64.0;
    c.compute.gpu.as_mut().unwrap().vram_gb = 24.0;
    c.storage = Storage { local_ssd_gb: 2000.0, ipfs_pinned_gb: 0.0 };
    c.inference.tokens_per_second = 70_000.0;
    c.memory = Memory { total_gb: 64.0, available_gb: 48.0 };
    c.network.bandwidth_mbps = 1000.0;
    c.load = Load { cpu_percent: 12.5, gpu_percent: 100.0, memory_percent: 0.0 };
    c
}

fn heartbeat() -> Heartbeat {
    Heartbeat { agent: agent(0x10), status: "online".into(), load: load(), active_jobs: 2 }
}

fn capability_record() -> CapabilityRecord {
    CapabilityRecord { action_hash: action(0x30), author: agent(0x10), timestamp: Timestamp(T0), capability: capability_gpu() }
}

/// The bytes the TS client sends for `capability_integral_floats()`.
fn client_bytes_integral_floats() -> Vec<u8> {
    integral_floats_as_ints(&holochain_serialized_bytes::encode(&capability_integral_floats()).unwrap())
}

#[test]
fn agent_registry_vectors_match_committed_files() {
    check_or_write(
        AGENT_REGISTRY,
        &[
            ("node_capability_gpu", entry_bytes(EntryTypes::NodeCapability, capability_gpu())),
            ("node_capability_no_gpu", entry_bytes(EntryTypes::NodeCapability, capability_no_gpu())),
            ("node_capability_integral_floats", client_bytes_integral_floats()),
            ("heartbeat", entry_bytes(EntryTypes::Heartbeat, heartbeat())),
            (
                "heartbeat_input",
                extern_bytes(&HeartbeatInput { status: "offline".into(), load: Load { cpu_percent: 0.5, gpu_percent: 1.25, memory_percent: 20.75 }, active_jobs: 0 }),
            ),
            ("capability_record", extern_bytes(&capability_record())),
            (
                "node_status",
                extern_bytes(&NodeStatus { agent: agent(0x10), heartbeat: found(0x31, 0x10, 60_000_000, heartbeat()), capability: Some(capability_record()) }),
            ),
        ],
    );
}

#[test]
fn every_agent_registry_entry_type_has_a_vector() {
    assert_every_entry_type_has_a_vector("agent_registry_integrity", EntryTypes::unit_iter());
}

/// The TS client (@msgpack/msgpack) writes an integral JS number as a msgpack int, not as
/// float64. Such a NodeCapability must deserialize to the same value as the float64 one Rust
/// writes, both as an entry (what validation sees) and as a zome call input (publish_capability).
#[test]
fn integral_floats_from_the_ts_client_decode() {
    let value = capability_integral_floats();
    let rust_bytes = holochain_serialized_bytes::encode(&value).unwrap();
    let client_bytes = client_bytes_integral_floats();

    assert_eq!(count_float64(&rust_bytes), 11, "Rust writes each of the 11 f64 fields as float64 (9 bytes)");
    assert_eq!(count_float64(&client_bytes), 1, "the client writes all but cpu_percent (12.5) as ints");
    // ram 64, vram 24, ssd 2000 (uint16), ipfs 0, tokens/s 70000 (uint32), total 64, available 48,
    // bandwidth 1000 (uint16), gpu% 100, memory% 0: fixints (1 byte) unless noted.
    let int_bytes = [1, 1, 3, 1, 5, 1, 1, 3, 1, 1];
    assert_eq!(rust_bytes.len() - client_bytes.len(), 9 * int_bytes.len() - int_bytes.iter().sum::<usize>());

    let entry = Entry::App(AppEntryBytes(SerializedBytes::from(UnsafeBytes::from(client_bytes.clone()))));
    assert_eq!(NodeCapability::try_from(&entry).expect("integral floats decode as an entry"), value);
    let decoded: NodeCapability = ExternIO(client_bytes).decode().expect("integral floats decode as a zome input");
    assert_eq!(decoded, value);
    // Rust writes them back as float64: the entry a zome stores from this input has the float64 form.
    assert_eq!(holochain_serialized_bytes::encode(&decoded).unwrap(), rust_bytes);
}
