//! Host-side tests of agent_registry's `validate` callback: plain `cargo test`, no conductor and
//! no wasm. `ripple_test_hdi::TestHdi` stands in for the host: it gives `op.flattened()` this
//! zome's types, serves `must_get_valid_record` from an in-memory store of signed records and
//! verifies ed25519 signatures for real (so the peer bindings below are really signed).
//!
//! Every create is validated in both forms `validate` sees it in: the entry authority's
//! `Op::CreateEntry` (or the base authority's `Op::CreateLink`) and the record authority's
//! `Op::CreateRecord`; both must agree.
//!
//! Dangling references (a link's target absent from the store) are neither valid nor invalid:
//! the conductor's `must_get_valid_record` raises `HostShortCircuit(UnresolvedDependencies)`,
//! the op stays pending and is retried later. On the host the zome's `?` returns that error;
//! the tests assert it and that the conductor would read it as `UnresolvedDependencies([hash])`
//! (see resource_mesh_integrity/tests/validate.rs for the long story).
//!
//! The libp2p identities are ed25519 keys too (`TestAgent`s used only for their keys): a peer id
//! is base58btc of the identity multihash of the protobuf-encoded public key, exactly what
//! `peer_binding::ed25519_key_of_peer_id` takes apart.
use agent_registry_integrity::*;
use hdi::prelude::*;
use ripple_integrity_common::MAX_CID_LEN;
use ripple_test_hdi::*;

// --- set-up -------------------------------------------------------------------------------
//
// Every action is timed from `ripple_test_hdi::T0_MICROS` (`at(ms)`), 20 s into its minute.

/// The last millisecond of T0's minute (heartbeat buckets are minutes).
const END_OF_T0_MINUTE_MS: i64 = 39_999;

struct World {
    hdi: TestHdi,
    /// The node whose capability and heartbeats the tests write.
    node: TestAgent,
    /// The node's libp2p key.
    node_p2p: TestAgent,
    /// Another agent with its own libp2p key.
    other: TestAgent,
    other_p2p: TestAgent,
}

/// A fresh HDI (one per test: the HDI is per thread) with this zome's entry and link types.
fn world() -> World {
    World {
        hdi: TestHdi::install_for::<UnitEntryTypes, LinkTypes>(0),
        node: test_agent(1),
        node_p2p: test_agent(101),
        other: test_agent(2),
        other_p2p: test_agent(102),
    }
}

/// `store`, `create`, `tagged_link` (10 s after T0) and `link_at` come from `HdiWorld`.
impl HdiWorld for World {
    fn hdi(&self) -> &TestHdi {
        &self.hdi
    }
}

impl World {
    /// The node's stored capability.
    fn node_capability(&self) -> ActionHash {
        self.store(&self.node, EntryTypes::NodeCapability(capability(&self.node, &self.node_p2p)), 0)
    }
}

// --- peer ids and bindings ------------------------------------------------------------------

/// The protobuf `PublicKey { Type: Ed25519, Data: <32 bytes> }` in an identity multihash.
const ED25519_PEER_ID_PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

/// The libp2p peer id (`12D3KooW…`) of an ed25519 key.
fn peer_id_of(libp2p: &TestAgent) -> String {
    base58([&ED25519_PEER_ID_PREFIX[..], libp2p.key.get_raw_32()].concat())
}

fn base58(bytes: Vec<u8>) -> String {
    bs58::encode(bytes).into_string()
}

/// A binding of `peer_id` to `bound_agent` whose agent signature is made by `agent_signer` and
/// whose peer signature is made by `peer_signer` (a valid binding when they are the agent and
/// the key inside the peer id).
fn binding_signed_by(peer_id: &str, agent_signer: &TestAgent, peer_signer: &TestAgent, bound_agent: &AgentPubKey) -> PeerBinding {
    PeerBinding {
        peer_id: peer_id.into(),
        multiaddrs: vec!["/ip4/192.0.2.10/tcp/4001".into(), "/ip4/192.0.2.10/udp/4001/quic-v1".into()],
        agent_signature: agent_signer.sign_raw(&peer_binding_message(peer_id)),
        peer_signature: peer_signer.sign_raw(&agent_binding_message(bound_agent)),
    }
}

/// `agent`'s valid binding to the libp2p key `libp2p`.
fn binding(agent: &TestAgent, libp2p: &TestAgent) -> PeerBinding {
    binding_signed_by(&peer_id_of(libp2p), agent, libp2p, &agent.key)
}

// --- entries that pass ----------------------------------------------------------------------

const SHA256_HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const MODEL_CID: &str = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
/// The key of a model no test node holds.
const OTHER_SHA256_HEX: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

fn model_by_sha256() -> ModelRef {
    ModelRef { name: "qwen2.5-coder-0.5b".into(), sha256: Some(SHA256_HEX.into()), cid: None }
}

fn model_by_cid() -> ModelRef {
    ModelRef { name: "llama-3.2-1b".into(), sha256: None, cid: Some(MODEL_CID.into()) }
}

fn load() -> Load {
    Load { cpu_percent: 12.5, gpu_percent: 30.0, memory_percent: 25.0 }
}

fn capability(agent: &TestAgent, libp2p: &TestAgent) -> NodeCapability {
    NodeCapability {
        agent: agent.pub_key(),
        agent_name: "node-1".into(),
        hardware_class: "gpu-mid".into(),
        compute: Compute {
            cpu_cores: 16,
            cpu_arch: "x86_64".into(),
            ram_gb: 64.0,
            gpu: Some(Gpu { vendor: "nvidia".into(), model: "RTX 4090".into(), vram_gb: 24.0 }),
        },
        storage: Storage { local_ssd_gb: 1000.0, ipfs_pinned_gb: 12.5 },
        inference: Inference { models_loaded: vec![model_by_sha256(), model_by_cid()], max_batch_size: 8, tokens_per_second: 42.5 },
        memory: Memory { total_gb: 64.0, available_gb: 48.0 },
        network: Network { bandwidth_mbps: 1000.0, latency_region: "eu-west".into() },
        availability: Availability { status: "online".into(), max_concurrent_jobs: 4 },
        load: load(),
        peer: binding(agent, libp2p),
    }
}

fn heartbeat(agent: &TestAgent) -> Heartbeat {
    Heartbeat { agent: agent.pub_key(), status: "online".into(), load: load(), active_jobs: 2 }
}

// --- verdicts -------------------------------------------------------------------------------

// expect_valid / expect_invalid / expect_unresolved (see the file's header) / expect_not_valid,
// on both forms of a create, judged by this zome's `validate`.
ripple_test_hdi::validate_verdicts!(validate);

/// The fragments of `bad_f64`'s reason for `field` outside `min..=max` at `value`.
fn f64_needles(field: &str, min: f64, max: f64, value: f64) -> Vec<String> {
    vec![field.to_string(), format!("{min}..={max}"), format!("got {value}")]
}

/// Out of `min..=max` (just below and above, far off) and not finite.
fn bad_f64_values(min: f64, max: f64) -> [f64; 6] {
    [min.next_down(), max.next_up(), -max, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]
}

#[track_caller]
fn expect_invalid_with(ops: [Op; 2], needles: &[String]) {
    expect_invalid(ops, &needles.iter().map(String::as_str).collect::<Vec<_>>());
}

/// The set-up itself: stored records are signed by their authors, and a test peer id is a real
/// Ed25519 peer id whose key the zome reads back.
#[test]
fn set_up_is_sound() {
    let w = world();
    let hash = w.node_capability();
    let record = must_get_valid_record(hash).unwrap();
    assert!(verify_signature(w.node.pub_key(), record.signature().clone(), record.action().clone()).unwrap());
    let peer_id = peer_id_of(&w.node_p2p);
    assert!(peer_id.starts_with("12D3KooW"), "{peer_id}");
    assert_eq!(peer_id.len(), 52);
    assert_eq!(ed25519_key_of_peer_id(&peer_id).unwrap().as_slice(), w.node_p2p.key.get_raw_32());
}

// --- entry types ----------------------------------------------------------------------------

/// One valid create of every entry type; fails when the zome gains a type without a case here.
#[test]
fn every_entry_type_has_a_valid_case() {
    let w = world();
    let cases = [
        (&w.node, EntryTypes::NodeCapability(capability(&w.node, &w.node_p2p))),
        (&w.node, EntryTypes::Heartbeat(heartbeat(&w.node))),
    ];
    assert_covers_every(cases.iter().map(|(_, entry)| entry.to_unit()), UnitEntryTypes::iter(), "an entry type has no test case");
    for (author, entry) in cases {
        expect_valid(w.create(author, entry, 1_000));
    }
}

mod node_capability {
    use super::*;

    /// Both ops of the node writing its capability, edited.
    fn check(edit: impl FnOnce(&mut NodeCapability)) -> [Op; 2] {
        let w = world();
        let mut c = capability(&w.node, &w.node_p2p);
        edit(&mut c);
        w.create(&w.node, EntryTypes::NodeCapability(c), 0)
    }

    type F64Field = (&'static str, f64, f64, fn(&mut NodeCapability, f64));

    /// Every float field: its name in the zome's reasons, its bounds (for the test capability,
    /// whose memory.total_gb is 64) and a setter.
    fn f64_fields() -> Vec<F64Field> {
        let total = capability(&test_agent(1), &test_agent(101)).memory.total_gb;
        vec![
            ("compute.ram_gb", 0.0, MAX_GB, |c, v| c.compute.ram_gb = v),
            ("compute.gpu.vram_gb", 0.0, MAX_GB, |c, v| c.compute.gpu.as_mut().unwrap().vram_gb = v),
            ("storage.local_ssd_gb", 0.0, MAX_GB, |c, v| c.storage.local_ssd_gb = v),
            ("storage.ipfs_pinned_gb", 0.0, MAX_GB, |c, v| c.storage.ipfs_pinned_gb = v),
            ("inference.tokens_per_second", 0.0, MAX_TOKENS_PER_SECOND, |c, v| c.inference.tokens_per_second = v),
            ("memory.total_gb", 0.0, MAX_GB, |c, v| {
                c.memory.total_gb = v;
                c.memory.available_gb = 0.0;
            }),
            ("memory.available_gb", 0.0, total, |c, v| c.memory.available_gb = v),
            // The zome writes this bound as a literal, not a constant.
            ("network.bandwidth_mbps", 0.0, 1.0e7, |c, v| c.network.bandwidth_mbps = v),
            ("load.cpu_percent", 0.0, 100.0, |c, v| c.load.cpu_percent = v),
            ("load.gpu_percent", 0.0, 100.0, |c, v| c.load.gpu_percent = v),
            ("load.memory_percent", 0.0, 100.0, |c, v| c.load.memory_percent = v),
        ]
    }

    type U32Field = (&'static str, u64, u64, fn(&mut NodeCapability, u32));

    fn u32_fields() -> Vec<U32Field> {
        vec![
            ("compute.cpu_cores", 1, MAX_CPU_CORES, |c, v| c.compute.cpu_cores = v),
            ("inference.max_batch_size", 1, MAX_BATCH_SIZE, |c, v| c.inference.max_batch_size = v),
            ("availability.max_concurrent_jobs", 0, MAX_CONCURRENT_JOBS, |c, v| c.availability.max_concurrent_jobs = v),
        ]
    }

    type StringField = (&'static str, usize, fn(&mut NodeCapability, String));

    /// Every bounded text field (1..=max bytes) but the peer id, which has its own tests.
    fn string_fields() -> Vec<StringField> {
        vec![
            ("agent_name", MAX_NAME_LEN, |c, s| c.agent_name = s),
            ("hardware_class", MAX_LABEL_LEN, |c, s| c.hardware_class = s),
            ("compute.cpu_arch", MAX_LABEL_LEN, |c, s| c.compute.cpu_arch = s),
            ("compute.gpu.vendor", MAX_LABEL_LEN, |c, s| c.compute.gpu.as_mut().unwrap().vendor = s),
            ("compute.gpu.model", MAX_MODEL_NAME_LEN, |c, s| c.compute.gpu.as_mut().unwrap().model = s),
            ("network.latency_region", MAX_LABEL_LEN, |c, s| c.network.latency_region = s),
            ("model.name", MAX_MODEL_NAME_LEN, |c, s| c.inference.models_loaded[1].name = s),
            ("model.cid", MAX_CID_LEN, |c, s| c.inference.models_loaded[1].cid = Some(s)),
            // Signatures cover the peer id and the agent key only, so the addresses can change.
            ("peer.multiaddrs[]", MAX_MULTIADDR_LEN, |c, s| c.peer.multiaddrs[1] = format!("/{}", &s[..s.len().saturating_sub(1)])),
        ]
    }

    #[test]
    fn valid() {
        expect_valid(check(|_| {}));
        expect_valid(check(|c| c.compute.gpu = None));
        expect_valid(check(|c| c.inference.models_loaded.clear()));
        expect_valid(check(|c| c.peer.multiaddrs.clear()));
        // A model may be named by both keys.
        expect_valid(check(|c| c.inference.models_loaded[0].cid = Some(MODEL_CID.into())));
        for status in AVAILABILITY {
            expect_valid(check(|c| c.availability.status = status.into()));
        }
    }

    #[test]
    fn valid_at_every_bound() {
        // Each number at its lower and its upper bound (float fields together: available_gb's
        // upper bound is total_gb).
        expect_valid(check(|c| {
            for (_, min, _, set) in f64_fields() {
                set(c, min);
            }
            for (_, min, _, set) in u32_fields() {
                set(c, min as u32);
            }
        }));
        expect_valid(check(|c| {
            for (name, _, max, set) in f64_fields() {
                if name != "memory.available_gb" {
                    set(c, max);
                }
            }
            c.memory.available_gb = MAX_GB;
            for (_, _, max, set) in u32_fields() {
                set(c, max as u32);
            }
        }));
        // Each text at its longest, lists at their longest.
        for (_, max, set) in string_fields() {
            expect_valid(check(|c| set(c, "a".repeat(max))));
        }
        expect_valid(check(|c| c.inference.models_loaded = vec![model_by_sha256(); MAX_MODELS]));
        expect_valid(check(|c| c.peer.multiaddrs = vec!["/ip4/192.0.2.10/tcp/4001".into(); MAX_MULTIADDRS]));
    }

    /// The author writes a capability naming another agent (with that agent's valid binding),
    /// or another agent writes one naming the node.
    #[test]
    fn rejects_an_author_other_than_the_agent() {
        let w = world();
        let others = capability(&w.other, &w.other_p2p);
        expect_invalid(w.create(&w.node, EntryTypes::NodeCapability(others), 0), &["can only be written by the agent it describes"]);
        let nodes = capability(&w.node, &w.node_p2p);
        expect_invalid(w.create(&w.other, EntryTypes::NodeCapability(nodes), 0), &["can only be written by the agent it describes"]);
    }

    #[test]
    fn rejects_floats_out_of_range_or_not_finite() {
        for (field, min, max, set) in f64_fields() {
            for value in bad_f64_values(min, max) {
                expect_invalid_with(check(|c| set(c, value)), &f64_needles(field, min, max, value));
            }
        }
    }

    #[test]
    fn rejects_available_memory_over_total() {
        let total = 64.0;
        expect_invalid_with(check(|c| c.memory.available_gb = total + 1.0), &f64_needles("memory.available_gb", 0.0, total, total + 1.0));
    }

    #[test]
    fn rejects_integers_out_of_range() {
        for (field, min, max, set) in u32_fields() {
            let mut values = vec![max + 1, u64::from(u32::MAX)];
            if min > 0 {
                values.push(min - 1);
            }
            for value in values {
                expect_invalid(check(|c| set(c, value as u32)), &[field, &format!("{min}..={max}"), &format!("got {value}")]);
            }
        }
    }

    #[test]
    fn rejects_oversize_or_empty_text() {
        for (field, max, set) in string_fields() {
            expect_invalid(check(|c| set(c, "a".repeat(max + 1))), &[field, &format!("1..={max} bytes"), &format!("got {}", max + 1)]);
            if field == "peer.multiaddrs[]" {
                expect_invalid(check(|c| c.peer.multiaddrs[1] = String::new()), &[field, "got 0"]);
            } else {
                expect_invalid(check(|c| set(c, String::new())), &[field, "got 0"]);
            }
        }
    }

    /// Lengths are bytes, not characters.
    #[test]
    fn counts_text_length_in_bytes() {
        let name = "é".repeat(MAX_NAME_LEN / 2 + 1);
        let bytes = name.len();
        expect_invalid(check(|c| c.agent_name = name), &["agent_name", &format!("got {bytes}")]);
    }

    #[test]
    fn rejects_an_unknown_availability_status() {
        for status in ["sleeping", "Online", ""] {
            expect_invalid(check(|c| c.availability.status = status.into()), &["availability.status", &format!("{AVAILABILITY:?}"), &format!("got {status:?}")]);
        }
    }

    #[test]
    fn rejects_a_model_sha256_that_is_not_lowercase_hex() {
        for bad in [SHA256_HEX.to_uppercase(), SHA256_HEX[..63].to_string(), format!("{SHA256_HEX}0"), "z".repeat(64), String::new()] {
            expect_invalid(check(|c| c.inference.models_loaded[0].sha256 = Some(bad)), &["model.sha256", "lowercase hex sha256"]);
        }
    }

    #[test]
    fn rejects_a_model_without_a_key() {
        expect_invalid(check(|c| c.inference.models_loaded[1].cid = None), &["needs a sha256 or a cid", "llama-3.2-1b"]);
    }

    #[test]
    fn rejects_too_many_models_or_addresses() {
        expect_invalid(
            check(|c| c.inference.models_loaded = vec![model_by_sha256(); MAX_MODELS + 1]),
            &["inference.models_loaded", &format!("at most {MAX_MODELS} items, got {}", MAX_MODELS + 1)],
        );
        expect_invalid(
            check(|c| c.peer.multiaddrs = vec!["/ip4/192.0.2.10/tcp/4001".into(); MAX_MULTIADDRS + 1]),
            &["peer.multiaddrs", &format!("at most {MAX_MULTIADDRS} items, got {}", MAX_MULTIADDRS + 1)],
        );
    }

    #[test]
    fn rejects_an_address_that_is_not_a_multiaddr() {
        expect_invalid(check(|c| c.peer.multiaddrs[0] = "192.0.2.10:4001".into()), &["peer.multiaddrs[]", "starting with '/'", "192.0.2.10:4001"]);
    }
}

/// The libp2p identity in a capability: both signatures must hold, made by the right keys over
/// the right messages, and the peer id must be an Ed25519 one.
mod peer_binding {
    use super::*;

    /// Both ops of `author` writing its capability with `peer` as its binding.
    fn check(w: &World, author: &TestAgent, peer: PeerBinding) -> [Op; 2] {
        let c = NodeCapability { peer, ..capability(author, &w.node_p2p) };
        w.create(author, EntryTypes::NodeCapability(c), 0)
    }

    const AGENT_SIGNATURE: &str = "peer.agent_signature is not the agent key's signature";
    const PEER_SIGNATURE: &str = "peer.peer_signature is not the libp2p key's signature";
    const NOT_ED25519: &str = "must be the id of an Ed25519 libp2p key";

    #[test]
    fn valid() {
        let w = world();
        expect_valid(check(&w, &w.node, binding(&w.node, &w.node_p2p)));
        expect_valid(check(&w, &w.other, binding(&w.other, &w.other_p2p)));
        // Nothing stops one libp2p key from vouching for several agents: its holder signed each.
        expect_valid(check(&w, &w.other, binding(&w.other, &w.node_p2p)));
    }

    #[test]
    fn rejects_a_peer_signature_by_another_key() {
        let w = world();
        let peer_id = peer_id_of(&w.node_p2p);
        expect_invalid(check(&w, &w.node, binding_signed_by(&peer_id, &w.node, &w.other_p2p, &w.node.key)), &[PEER_SIGNATURE]);
        // Not even the agent key itself can stand in for the libp2p key.
        expect_invalid(check(&w, &w.node, binding_signed_by(&peer_id, &w.node, &w.node, &w.node.key)), &[PEER_SIGNATURE]);
    }

    #[test]
    fn rejects_an_agent_signature_by_another_key() {
        let w = world();
        let peer_id = peer_id_of(&w.node_p2p);
        expect_invalid(check(&w, &w.node, binding_signed_by(&peer_id, &w.other, &w.node_p2p, &w.node.key)), &[AGENT_SIGNATURE]);
        // Nor may the libp2p key sign for the agent.
        expect_invalid(check(&w, &w.node, binding_signed_by(&peer_id, &w.node_p2p, &w.node_p2p, &w.node.key)), &[AGENT_SIGNATURE]);
    }

    /// Hijacking a peer id: another agent copies the node's binding whole, or signs the node's
    /// peer id itself but can only copy the libp2p key's signature of the node's agent key.
    #[test]
    fn rejects_anothers_binding_replayed() {
        let w = world();
        expect_invalid(check(&w, &w.other, binding(&w.node, &w.node_p2p)), &[AGENT_SIGNATURE]);
        let half_forged = binding_signed_by(&peer_id_of(&w.node_p2p), &w.other, &w.node_p2p, &w.node.key);
        expect_invalid(check(&w, &w.other, half_forged), &[PEER_SIGNATURE]);
    }

    /// The peer id swapped for another key's, with or without the agent re-signing it.
    #[test]
    fn rejects_a_peer_id_of_another_key() {
        let w = world();
        let mut swapped = binding(&w.node, &w.node_p2p);
        swapped.peer_id = peer_id_of(&w.other_p2p);
        expect_invalid(check(&w, &w.node, swapped), &[AGENT_SIGNATURE]);
        let resigned = binding_signed_by(&peer_id_of(&w.other_p2p), &w.node, &w.node_p2p, &w.node.key);
        expect_invalid(check(&w, &w.node, resigned), &[PEER_SIGNATURE]);
    }

    /// Right keys, wrong messages: without the context prefixes, or over the 32-byte key.
    #[test]
    fn rejects_signatures_over_other_messages() {
        let w = world();
        let peer_id = peer_id_of(&w.node_p2p);
        let mut b = binding(&w.node, &w.node_p2p);
        b.agent_signature = w.node.sign_raw(peer_id.as_bytes());
        expect_invalid(check(&w, &w.node, b.clone()), &[AGENT_SIGNATURE]);
        // The two contexts keep one signature from passing for the other.
        b.agent_signature = w.node.sign_raw(&[AGENT_BINDING_CONTEXT, peer_id.as_bytes()].concat());
        expect_invalid(check(&w, &w.node, b.clone()), &[AGENT_SIGNATURE]);
        let mut b = binding(&w.node, &w.node_p2p);
        b.peer_signature = w.node_p2p.sign_raw(w.node.key.get_raw_39());
        expect_invalid(check(&w, &w.node, b.clone()), &[PEER_SIGNATURE]);
        b.peer_signature = w.node_p2p.sign_raw(&[AGENT_BINDING_CONTEXT, w.node.key.get_raw_32()].concat());
        expect_invalid(check(&w, &w.node, b.clone()), &[PEER_SIGNATURE]);
        b.peer_signature = w.node_p2p.sign_raw(&[PEER_BINDING_CONTEXT, w.node.key.get_raw_39()].concat());
        expect_invalid(check(&w, &w.node, b), &[PEER_SIGNATURE]);
    }

    #[test]
    fn rejects_blank_signatures() {
        let w = world();
        let mut b = binding(&w.node, &w.node_p2p);
        b.peer_signature = Signature([0; 64]);
        expect_invalid(check(&w, &w.node, b.clone()), &[PEER_SIGNATURE]);
        b.agent_signature = Signature([0; 64]);
        expect_invalid(check(&w, &w.node, b), &[AGENT_SIGNATURE]);
    }

    /// Peer ids of other key types or malformed ones, each validly signed by the agent (the id
    /// itself is what is wrong).
    #[test]
    fn rejects_a_peer_id_that_is_not_ed25519() {
        let w = world();
        let key = w.node_p2p.key.get_raw_32().to_vec();
        let cases = [
            // secp256k1 (`16Uiu2…`): protobuf {Type: 2, Data: 33 bytes} in an identity multihash.
            [&[0x00, 0x25, 0x08, 0x02, 0x12, 0x21, 0x02][..], &key].concat(),
            // RSA-style (`Qm…`): the sha256 multihash of the key, the key itself not inside.
            [&[0x12, 0x20][..], &key].concat(),
            // Ed25519 prefix, key one byte short or long.
            [&ED25519_PEER_ID_PREFIX[..], &key[..31]].concat(),
            [&ED25519_PEER_ID_PREFIX[..], &key, &[0][..]].concat(),
            // Ed25519 header behind a sha256 (0x12) instead of an identity (0x00) multihash.
            [&[0x12, 0x24, 0x08, 0x01, 0x12, 0x20][..], &key].concat(),
        ];
        for bytes in cases {
            let peer_id = base58(bytes);
            assert!(peer_id.len() <= MAX_PEER_ID_LEN, "{peer_id}");
            expect_invalid(check(&w, &w.node, binding_signed_by(&peer_id, &w.node, &w.node_p2p, &w.node.key)), &[NOT_ED25519]);
        }
    }

    #[test]
    fn rejects_a_peer_id_that_is_not_base58() {
        let w = world();
        let peer_id = peer_id_of(&w.node_p2p);
        // '0', 'O', 'I' and 'l' are not in the bitcoin alphabet.
        for bad in [format!("{}0", &peer_id[..51]), peer_id.replacen('K', "O", 1), "12D3KooW-not-a-peer-id".to_string()] {
            expect_invalid(check(&w, &w.node, binding_signed_by(&bad, &w.node, &w.node_p2p, &w.node.key)), &["peer_id is not base58btc"]);
        }
    }

    #[test]
    fn rejects_an_oversize_or_empty_peer_id() {
        let w = world();
        let long = "1".repeat(MAX_PEER_ID_LEN + 1);
        expect_invalid(check(&w, &w.node, binding_signed_by(&long, &w.node, &w.node_p2p, &w.node.key)), &["peer.peer_id", &format!("1..={MAX_PEER_ID_LEN} bytes"), &format!("got {}", MAX_PEER_ID_LEN + 1)]);
        expect_invalid(check(&w, &w.node, binding_signed_by("", &w.node, &w.node_p2p, &w.node.key)), &["peer.peer_id", "got 0"]);
    }
}

mod heartbeat {
    use super::*;

    fn check(edit: impl FnOnce(&mut Heartbeat)) -> [Op; 2] {
        let w = world();
        let mut h = heartbeat(&w.node);
        edit(&mut h);
        w.create(&w.node, EntryTypes::Heartbeat(h), 0)
    }

    type F64Field = (&'static str, fn(&mut Heartbeat, f64));

    fn load_fields() -> [F64Field; 3] {
        [
            ("load.cpu_percent", |h, v| h.load.cpu_percent = v),
            ("load.gpu_percent", |h, v| h.load.gpu_percent = v),
            ("load.memory_percent", |h, v| h.load.memory_percent = v),
        ]
    }

    #[test]
    fn valid() {
        expect_valid(check(|_| {}));
        for status in HEARTBEAT_STATUS {
            expect_valid(check(|h| h.status = status.into()));
        }
        expect_valid(check(|h| h.active_jobs = 0));
        expect_valid(check(|h| h.active_jobs = MAX_CONCURRENT_JOBS as u32));
        for bound in [0.0, 100.0] {
            expect_valid(check(|h| {
                for (_, set) in load_fields() {
                    set(h, bound);
                }
            }));
        }
    }

    /// A heartbeat does not need a capability first (nodes may start beating before publishing).
    #[test]
    fn valid_without_a_capability() {
        let w = world();
        expect_valid(w.create(&w.other, EntryTypes::Heartbeat(heartbeat(&w.other)), 0));
    }

    #[test]
    fn rejects_an_author_other_than_the_agent() {
        let w = world();
        expect_invalid(w.create(&w.other, EntryTypes::Heartbeat(heartbeat(&w.node)), 0), &["a Heartbeat can only be written by the agent it describes"]);
        expect_invalid(w.create(&w.node, EntryTypes::Heartbeat(heartbeat(&w.other)), 0), &["a Heartbeat can only be written by the agent it describes"]);
    }

    /// Only "online" and "offline": "busy" and "draining" are capability states, not heartbeats.
    #[test]
    fn rejects_an_unknown_status() {
        for status in ["busy", "draining", "Online", ""] {
            expect_invalid(check(|h| h.status = status.into()), &["status", &format!("{HEARTBEAT_STATUS:?}"), &format!("got {status:?}")]);
        }
    }

    #[test]
    fn rejects_load_out_of_range_or_not_finite() {
        for (field, set) in load_fields() {
            for value in bad_f64_values(0.0, 100.0) {
                expect_invalid_with(check(|h| set(h, value)), &f64_needles(field, 0.0, 100.0, value));
            }
        }
    }

    #[test]
    fn rejects_active_jobs_over_max() {
        for value in [MAX_CONCURRENT_JOBS + 1, u64::from(u32::MAX)] {
            expect_invalid(check(|h| h.active_jobs = value as u32), &["active_jobs", &format!("0..={MAX_CONCURRENT_JOBS}"), &format!("got {value}")]);
        }
    }
}

/// Updates and deletes are not part of this DNA: a new capability version is a new record.
mod append_only {
    use super::*;

    const NOT_ALLOWED: &str = "agent_registry does not allow this operation";
    const APPEND_ONLY: &str = "agent_registry records are append-only";

    /// The record, entry and update authorities' ops say "not allowed", the agent activity
    /// authority says "append-only".
    #[track_caller]
    fn expect_all_rejected<const N: usize>(ops: [Op; N]) {
        expect_all_rejected_by(validate, ops, NOT_ALLOWED, APPEND_ONLY)
    }

    #[test]
    fn rejects_updating_a_capability() {
        let w = world();
        let original = w.node_capability();
        let mut next = capability(&w.node, &w.node_p2p);
        next.availability.status = "busy".into();
        let entry = Entry::try_from(&EntryTypes::NodeCapability(next)).unwrap();
        expect_all_rejected(w.hdi.update_entry_ops(&w.node, &original, entry, at(1_000)));
    }

    #[test]
    fn rejects_updating_a_heartbeat() {
        let w = world();
        let original = w.store(&w.node, EntryTypes::Heartbeat(heartbeat(&w.node)), 0);
        let entry = Entry::try_from(&EntryTypes::Heartbeat(Heartbeat { status: "offline".into(), ..heartbeat(&w.node) })).unwrap();
        expect_all_rejected(w.hdi.update_entry_ops(&w.node, &original, entry, at(1_000)));
    }

    #[test]
    fn rejects_deleting_a_capability_or_heartbeat() {
        let w = world();
        let capability = w.node_capability();
        expect_all_rejected(w.hdi.delete_entry_ops(&w.node, &capability, at(1_000)));
        let heartbeat = w.store(&w.node, EntryTypes::Heartbeat(heartbeat(&w.node)), 0);
        expect_all_rejected(w.hdi.delete_entry_ops(&w.node, &heartbeat, at(1_000)));
    }

    /// The agent activity authority passes creates (their content is judged by the other ops).
    #[test]
    fn agent_activity_accepts_creates() {
        let w = world();
        let create = w.hdi.typed_entry_record(&w.node, &EntryTypes::NodeCapability(capability(&w.node, &w.node_p2p)), at(0));
        assert_eq!(validate(agent_activity_op_from_record(&create)), Ok(ValidateCallbackResult::Valid));
        let capability = create.action_address().clone();
        let link = w.hdi.typed_create_link_action(&w.node, LinkTypes::AllNodes, all_nodes_anchor_hash().unwrap(), capability, (), at(1_000));
        assert_eq!(validate(agent_activity_op(link, None)), Ok(ValidateCallbackResult::Valid));
    }

    pub(super) fn link_delete_is_rejected(link: LinkTypes) {
        let (w, c) = super::link_case(link);
        let create = w.hdi.typed_create_link_action(&c.author, c.link, c.base, c.target, c.tag, at(10_000));
        w.hdi.store_action(&create);
        expect_all_rejected(w.hdi.delete_link_ops(&c.author, &create, at(20_000)));
    }
}

// --- link types -----------------------------------------------------------------------------

/// One link type with everything needed to write it validly, and what its rules say.
struct LinkCase {
    link: LinkTypes,
    /// Who may write it: the target's author (always the node here).
    author: TestAgent,
    base: AnyLinkableHash,
    tag: LinkTag,
    target: ActionHash,
    /// The type name the zome uses in its messages.
    what: &'static str,
    /// A base this link may not start at, and what the rejection says.
    wrong_base: AnyLinkableHash,
    base_rule: &'static str,
    /// A stored record of the node's of another type.
    other_type: ActionHash,
}

/// The node's capability and heartbeat (written 5 s after T0), and a case for every link type.
fn link_cases() -> (World, Vec<LinkCase>) {
    let w = world();
    let capability = w.node_capability();
    let heartbeat = w.store(&w.node, EntryTypes::Heartbeat(heartbeat(&w.node)), 5_000);
    let bucket = heartbeat_bucket(at(5_000));
    let anchor: AnyLinkableHash = all_nodes_anchor_hash().unwrap().into();
    let model = |key: &str| AnyLinkableHash::from(model_index_hash(key).unwrap());
    let bucket_hash = |b: i64| AnyLinkableHash::from(heartbeat_bucket_hash(b).unwrap());
    let capability_bucket_of_link = capability_bucket(at(LINKED_AT_MS));
    let capabilities = |b: i64| AnyLinkableHash::from(capability_bucket_hash(b).unwrap());
    let key = |agent: &TestAgent| AnyLinkableHash::from(agent.pub_key());
    #[rustfmt::skip]
    let cases = vec![
        LinkCase { link: LinkTypes::AllNodes, author: w.node.clone(), base: anchor.clone(), tag: ().into(), target: capability.clone(), what: "NodeCapability",
                   wrong_base: key(&w.node), base_rule: "an AllNodes link must start at the all_nodes anchor", other_type: heartbeat.clone() },
        LinkCase { link: LinkTypes::AgentToCapabilities, author: w.node.clone(), base: key(&w.node), tag: ().into(), target: capability.clone(), what: "NodeCapability",
                   wrong_base: key(&w.other), base_rule: "an AgentToCapabilities link must start at its author's agent key", other_type: heartbeat.clone() },
        LinkCase { link: LinkTypes::ModelToCapabilities, author: w.node.clone(), base: model(SHA256_HEX), tag: LinkTag::new(SHA256_HEX), target: capability.clone(), what: "NodeCapability",
                   wrong_base: model(MODEL_CID), base_rule: "a ModelToCapabilities link must start at the index entry of the model in its tag", other_type: heartbeat.clone() },
        LinkCase { link: LinkTypes::HeartbeatBucket, author: w.node.clone(), base: bucket_hash(bucket), tag: ().into(), target: heartbeat.clone(), what: "Heartbeat",
                   wrong_base: bucket_hash(bucket + 1), base_rule: "a HeartbeatBucket link must start at the bucket of the heartbeat's timestamp", other_type: capability.clone() },
        LinkCase { link: LinkTypes::CapabilityBucket, author: w.node.clone(), base: capabilities(capability_bucket_of_link), tag: ().into(), target: capability.clone(), what: "NodeCapability",
                   wrong_base: capabilities(capability_bucket_of_link + 1), base_rule: "a CapabilityBucket link must start at the bucket of its own timestamp (or the one before)", other_type: heartbeat.clone() },
    ];
    (w, cases)
}

fn link_case(link: LinkTypes) -> (World, LinkCase) {
    pick_case(link_cases(), link, |c| c.link)
}

#[test]
fn every_link_type_has_a_case() {
    assert_covers_every(link_cases().1.iter().map(|c| c.link), LinkTypes::iter(), "a link type has no test case");
}

impl World {
    /// Both ops of `author` creating a link of `c`'s type, with `c`'s tag, 10 s after T0.
    fn case_link(&self, c: &LinkCase, author: &TestAgent, base: AnyLinkableHash, target: AnyLinkableHash) -> [Op; 2] {
        self.tagged_link(author, c.link, base, target, c.tag.clone())
    }
}

fn link_valid(link: LinkTypes) {
    let (w, c) = link_case(link);
    expect_valid(w.case_link(&c, &c.author, c.base.clone(), c.target.clone().into()));
}

/// Wrong author: the other agent links the node's record (from a base it may use: its own key
/// for AgentToCapabilities).
fn link_rejects_anothers_target(link: LinkTypes) {
    let (w, c) = link_case(link);
    let base = if c.link == LinkTypes::AgentToCapabilities { w.other.pub_key().into() } else { c.base.clone() };
    expect_invalid(w.case_link(&c, &w.other, base, c.target.clone().into()), &["a link may only point at its author's own", c.what]);
}

fn link_rejects_wrong_base(link: LinkTypes) {
    let (w, c) = link_case(link);
    expect_invalid(w.case_link(&c, &c.author, c.wrong_base.clone(), c.target.clone().into()), &[c.base_rule]);
}

fn link_rejects_target_that_is_not_an_action(link: LinkTypes) {
    let (w, c) = link_case(link);
    let entry_hash = must_get_valid_record(c.target.clone()).unwrap().action().entry_hash().unwrap().clone();
    expect_invalid(w.case_link(&c, &c.author, c.base.clone(), entry_hash.into()), &[&format!("must point at a {} action", c.what)]);
    expect_invalid(w.case_link(&c, &c.author, c.base.clone(), w.node.pub_key().into()), &[&format!("must point at a {} action", c.what)]);
}

fn link_rejects_target_of_another_type(link: LinkTypes) {
    let (w, c) = link_case(link);
    expect_invalid(w.case_link(&c, &c.author, c.base.clone(), c.other_type.clone().into()), &[&format!("the referenced record is not a {}", c.what)]);
}

fn link_dangling_target_is_unresolved(link: LinkTypes) {
    let (w, c) = link_case(link);
    w.hdi.remove(&c.target).expect("the target was stored");
    expect_unresolved(w.case_link(&c, &c.author, c.base.clone(), c.target.clone().into()), &c.target);
}

/// A link to a record the network rejected is judged like any other (type, author, base): readers
/// skip the invalid target when they fetch it. Requiring a valid target left such a link pending on
/// every node for good (the conductor answers UnresolvedDependencies and re-validates it every few
/// seconds).
fn link_rejected_target_is_judged_by_readers(link: LinkTypes) {
    let (w, c) = link_case(link);
    let record = w.hdi.remove(&c.target).expect("the target was stored");
    w.hdi.store_rejected(record);
    expect_valid(w.case_link(&c, &c.author, c.base.clone(), c.target.clone().into()));
}

// A module per link type, with the seven tests above (`ripple_test_hdi::link_type_tests!`) and one
// more.
ripple_test_hdi::link_type_tests! {
    extra {
        rejects_a_delete => append_only::link_delete_is_rejected,
    }
    link_all_nodes => LinkTypes::AllNodes,
    link_agent_to_capabilities => LinkTypes::AgentToCapabilities,
    link_model_to_capabilities => LinkTypes::ModelToCapabilities,
    link_heartbeat_bucket => LinkTypes::HeartbeatBucket,
    link_capability_bucket => LinkTypes::CapabilityBucket,
}

/// AllNodes, AgentToCapabilities and HeartbeatBucket carry no tag.
#[test]
fn untagged_links_reject_a_tag() {
    for link in [LinkTypes::AllNodes, LinkTypes::AgentToCapabilities, LinkTypes::HeartbeatBucket, LinkTypes::CapabilityBucket] {
        let (w, c) = link_case(link);
        let tagged = w.tagged_link(&c.author, c.link, c.base.clone(), c.target.clone().into(), LinkTag::new("x"));
        expect_invalid(tagged, &["this link carries no tag"]);
    }
}

mod link_model_to_capabilities_tag {
    use super::*;

    fn check(tag: impl Into<Vec<u8>>, base_key: &str) -> [Op; 2] {
        let (w, c) = link_case(LinkTypes::ModelToCapabilities);
        let base = model_index_hash(base_key).unwrap().into();
        w.tagged_link(&c.author, c.link, base, c.target.into(), LinkTag::new(tag.into()))
    }

    /// A model is indexed under each of its keys.
    #[test]
    fn valid_by_sha256_or_cid() {
        expect_valid(check(SHA256_HEX, SHA256_HEX));
        expect_valid(check(MODEL_CID, MODEL_CID));
    }

    #[test]
    fn rejects_a_tag_that_is_not_utf8() {
        expect_invalid(check(vec![0xff, 0xfe], SHA256_HEX), &["a ModelToCapabilities tag must be the model key (utf-8)"]);
    }

    /// Base and tag agree but the capability does not hold that model (a node cannot list itself
    /// under a model it lacks); a model's name is not one of its keys.
    #[test]
    fn rejects_a_model_the_capability_does_not_hold() {
        for key in [OTHER_SHA256_HEX, "qwen2.5-coder-0.5b", ""] {
            expect_invalid(check(key, key), &[&format!("the linked capability does not hold model {key}")]);
        }
    }

    /// The base must follow the tag, not just be some model the capability holds.
    #[test]
    fn rejects_a_base_of_another_key_than_the_tag() {
        expect_invalid(check(SHA256_HEX, MODEL_CID), &["must start at the index entry of the model in its tag"]);
        expect_invalid(check(MODEL_CID, SHA256_HEX), &["must start at the index entry of the model in its tag"]);
    }

    /// The wrong base is caught before the target is fetched: no retry for a bad base.
    #[test]
    fn rejects_a_wrong_base_even_with_a_dangling_target() {
        let (w, c) = link_case(LinkTypes::ModelToCapabilities);
        w.hdi.remove(&c.target);
        expect_invalid(w.case_link(&c, &c.author, c.wrong_base.clone(), c.target.clone().into()), &[c.base_rule]);
    }
}

mod link_heartbeat_bucket_timing {
    use super::*;

    fn bucket_hash(at: Timestamp) -> AnyLinkableHash {
        heartbeat_bucket_hash(heartbeat_bucket(at)).unwrap().into()
    }

    /// The bucket is the heartbeat's minute, not the link's: a heartbeat in the last
    /// millisecond of a minute, linked in the next minute.
    #[test]
    fn bucket_follows_the_heartbeats_timestamp() {
        let w = world();
        let hb = w.store(&w.node, EntryTypes::Heartbeat(heartbeat(&w.node)), END_OF_T0_MINUTE_MS);
        let link_ms = END_OF_T0_MINUTE_MS + 1;
        assert_eq!(heartbeat_bucket(at(link_ms)), heartbeat_bucket(at(END_OF_T0_MINUTE_MS)) + 1, "the set-up crosses a minute");
        let link = |base| w.link_at(&w.node, LinkTypes::HeartbeatBucket, base, hb.clone().into(), ().into(), link_ms);
        expect_valid(link(bucket_hash(at(END_OF_T0_MINUTE_MS))));
        expect_invalid(link(bucket_hash(at(link_ms))), &["must start at the bucket of the heartbeat's timestamp"]);
    }

    #[test]
    fn rejects_neighbouring_buckets_and_other_bases() {
        let (w, c) = link_case(LinkTypes::HeartbeatBucket);
        let bucket = heartbeat_bucket(at(5_000));
        for base in [
            AnyLinkableHash::from(heartbeat_bucket_hash(bucket - 1).unwrap()),
            AnyLinkableHash::from(all_nodes_anchor_hash().unwrap()),
            AnyLinkableHash::from(w.node.pub_key()),
            AnyLinkableHash::from(c.target.clone()),
        ] {
            expect_invalid(w.case_link(&c, &c.author, base, c.target.clone().into()), &["must start at the bucket of the heartbeat's timestamp"]);
        }
    }
}

mod link_capability_bucket_timing {
    use super::*;

    fn capabilities(bucket: i64) -> AnyLinkableHash {
        capability_bucket_hash(bucket).unwrap().into()
    }

    /// A refresh: the capability was written long before, the link goes in the bucket of the
    /// link's own time (or the one before it: the writer reads its clock just before linking).
    #[test]
    fn bucket_follows_the_links_timestamp_not_the_capabilitys() {
        let w = world();
        let capability = w.node_capability();
        let link_ms = 3 * 3600 * 1000;
        let bucket = capability_bucket(at(link_ms));
        assert!(bucket > capability_bucket(at(0)) + 2, "the set-up links long after the capability");
        let link = |base| w.link_at(&w.node, LinkTypes::CapabilityBucket, base, capability.clone().into(), ().into(), link_ms);
        expect_valid(link(capabilities(bucket)));
        expect_valid(link(capabilities(bucket - 1)));
        let rule = "a CapabilityBucket link must start at the bucket of its own timestamp (or the one before)";
        expect_invalid(link(capabilities(capability_bucket(at(0)))), &[rule]);
        expect_invalid(link(capabilities(bucket - 2)), &[rule]);
        expect_invalid(link(capabilities(bucket + 1)), &[rule]);
    }

    /// Buckets are 10 minutes: the first millisecond of a bucket is in it, the one before is not.
    #[test]
    fn buckets_are_ten_minutes() {
        let start = (T0_MICROS / 1_000_000).div_euclid(CAPABILITY_BUCKET_SECONDS) * CAPABILITY_BUCKET_SECONDS + CAPABILITY_BUCKET_SECONDS;
        let first = Timestamp::from_micros(start * 1_000_000);
        let last_before = Timestamp::from_micros(start * 1_000_000 - 1);
        assert_eq!(capability_bucket(first), capability_bucket(last_before) + 1);
        assert_eq!(capability_bucket(Timestamp::from_micros((start + CAPABILITY_BUCKET_SECONDS) * 1_000_000 - 1)), capability_bucket(first));
    }

    #[test]
    fn rejects_other_bases() {
        let (w, c) = link_case(LinkTypes::CapabilityBucket);
        let bucket = capability_bucket(at(LINKED_AT_MS));
        for base in [
            AnyLinkableHash::from(heartbeat_bucket_hash(heartbeat_bucket(at(LINKED_AT_MS))).unwrap()),
            AnyLinkableHash::from(heartbeat_bucket_hash(bucket).unwrap()),
            AnyLinkableHash::from(all_nodes_anchor_hash().unwrap()),
            AnyLinkableHash::from(w.node.pub_key()),
        ] {
            expect_invalid(w.case_link(&c, &c.author, base, c.target.clone().into()), &[c.base_rule]);
        }
    }
}

// --- closed gaps (found by these tests, fixed in the zomes) ---------------------------------

/// Entries are msgpack maps and serde ignores fields it does not know, so an entry may carry
/// extra fields of any size past every length bound: validation sees only the known fields,
/// while the DHT stores (and serves) the whole entry, bounded only by Holochain's own entry size
/// limit.
///
/// Each test writes the entry plus a 100 kB field its type does not have (`padded_entry`).
/// Before the fix both ops passed (the padding was never looked at). A fix may reject the entry
/// as Invalid, or refuse to deserialize it (`deny_unknown_fields`: an error out of `validate`):
/// `expect_not_valid` takes either.
mod unknown_fields {
    use super::*;

    fn ops_of(w: &World, unit: UnitEntryTypes, entry: Entry) -> [Op; 2] {
        w.hdi.create_entry_ops_as(&w.node, unit, entry, at(0))
    }

    #[test]
    fn rejects_a_capability_with_unknown_fields() {
        let w = world();
        expect_not_valid(ops_of(&w, UnitEntryTypes::NodeCapability, padded_entry(&capability(&w.node, &w.node_p2p))));
    }

    #[test]
    fn rejects_a_heartbeat_with_unknown_fields() {
        let w = world();
        expect_not_valid(ops_of(&w, UnitEntryTypes::Heartbeat, padded_entry(&heartbeat(&w.node))));
    }
}
