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
//! (see resource_mesh_integrity/tests/validate/ for the long story).
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
        inference: Inference { models_loaded: vec![model_by_sha256(), model_by_cid()], max_batch_size: 8, tokens_per_second: 42.5, backend: "cuda".into() },
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

mod node_capability;

/// The libp2p identity in a capability: both signatures must hold, made by the right keys over
/// the right messages, and the peer id must be an Ed25519 one.
mod peer_binding;

mod heartbeat;

/// Updates and deletes are not part of this DNA: a new capability version is a new record.
mod append_only;

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

mod link_model_to_capabilities_tag;

mod link_heartbeat_bucket_timing;

mod link_capability_bucket_timing;

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
mod unknown_fields;
