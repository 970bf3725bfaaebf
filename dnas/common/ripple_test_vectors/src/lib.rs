//! Shared msgpack test vectors: the bytes Holochain writes for every entry type (and the main
//! zome inputs/outputs) of the three Ripple Mesh DNAs, committed under
//! `zome-bindings/test-vectors/` so the Rust zomes and the TypeScript bindings can prove they
//! agree byte for byte. `zome-bindings/test/test-vectors.test.ts` decodes each file with
//! @msgpack/msgpack, parses it with the binding's zod schema and re-encodes it to the same bytes.
//!
//! * `tests/agent_registry.rs`, `tests/resource_mesh.rs`, `tests/artifact_index.rs` build one
//!   deterministic sample per vector and compare its bytes with the committed file (or write it,
//!   with `RIPPLE_UPDATE_VECTORS=1`). One binary per DNA: the integrity crates export the same
//!   `#[no_mangle]` wasm callbacks, so two of them cannot be linked into one binary (and this
//!   library must not use any of them).
//! * `tests/vectors.rs` writes or compares `index.json` from [`VECTORS`] and rejects stray files.
//!
//! Encoding, exactly as Holochain does it:
//! * entries: `Entry::try_from(&EntryTypes::X(value))`, what `create_entry` stores; that is
//!   `#[hdk_entry_helper]`'s `SerializedBytes::try_from(&value)`, i.e.
//!   [`holochain_serialized_bytes::encode`]: rmp-serde with `with_struct_map()`, the msgpack
//!   "named" encoding (structs as maps keyed by field name in declaration order, `None` as nil,
//!   hashes and signatures as bin, integers in their smallest width, strings as fixstr/str8/
//!   str16, every `f64` as float64);
//! * zome inputs/outputs: `ExternIO::encode(&value)`, the same encoder.
//!
//! Floats: the samples' `f64` fields hold non-integral values, because @msgpack/msgpack writes an
//! integral JS number as a msgpack int. The `node_capability_integral_floats` vector covers that
//! direction (see [`integral_floats_as_ints`]).
//!
//! The coordinator zomes' own input/output structs (`CapabilityRecord`, `SlotInput`, …) depend on
//! `hdk`, which this host-only crate does not link: the DNA test files hold field-for-field
//! mirrors of them (same names, order and types). [`Found`] mirrors
//! `ripple_coordinator_common::Found`.
#![cfg(not(target_arch = "wasm32"))]

use hdi::prelude::*;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

mod integral_floats;
pub use integral_floats::{count_float64, integral_floats_as_ints};

/// Set to `1` to (re)write the vector files instead of comparing them.
pub const UPDATE_ENV: &str = "RIPPLE_UPDATE_VECTORS";

/// 2026-01-01T00:00:00.123456Z in microseconds (needs a msgpack uint64).
pub const T0: i64 = 1_767_225_600_123_456;

// --- fixed values ---------------------------------------------------------------------------

/// 36 deterministic bytes (32-byte core and 4 location bytes) counting up from `seed`.
pub fn raw_36(seed: u8) -> Vec<u8> {
    (0..36u8).map(|i| seed.wrapping_add(i)).collect()
}

/// A fixed 39-byte agent key (prefix `84 20 24`).
pub fn agent(seed: u8) -> AgentPubKey {
    AgentPubKey::from_raw_36(raw_36(seed))
}

/// A fixed 39-byte action hash (prefix `84 29 24`).
pub fn action(seed: u8) -> ActionHash {
    ActionHash::from_raw_36(raw_36(seed))
}

/// A fixed 64-byte signature counting up from `seed`.
pub fn signature(seed: u8) -> Signature {
    let mut bytes = [0u8; 64];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = seed.wrapping_add(i as u8);
    }
    Signature(bytes)
}

/// `ripple_coordinator_common::Found<T>`: what every coordinator `get_*` / `list_*` returns.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Found<T> {
    pub action_hash: ActionHash,
    pub author: AgentPubKey,
    pub timestamp: Timestamp,
    pub entry: T,
}

/// The sha256 of the model the samples run and register (llama-3.1-8b-instruct, q4_k_m GGUF):
/// a NodeCapability's model by sha256, a JobResult's `model`, the model Artifact's `sha256`.
pub const SHA_MODEL: &str = "5f2e3c4d6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f";
/// The CID (v1) of that model: a JobResult's `model` by CID, the model Artifact's `cid`.
pub const CID_MODEL: &str = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
/// The CID (v1, raw) of a job's output: a JobResult's `output_cid`, a parent of an Artifact.
pub const CID_OUTPUT: &str = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
/// The CID (v0) of a prompt: a Job's `payload_cid`, the prompt Artifact's `cid`.
pub const CID_PROMPT: &str = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG";

/// A `Found` at `T0 + micros_later`.
pub fn found<T>(action_seed: u8, author_seed: u8, micros_later: i64, entry: T) -> Found<T> {
    Found { action_hash: action(action_seed), author: agent(author_seed), timestamp: Timestamp(T0 + micros_later), entry }
}

// --- the vector list (index.json) ------------------------------------------------------------

/// Whether a vector is an entry (as stored on the DHT) or a zome call's input/output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Entry,
    ZomeInput,
    ZomeOutput,
    /// Bytes the TS client writes (integral floats as msgpack ints); Rust only decodes them.
    ClientEncoded,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Entry => "entry",
            Kind::ZomeInput => "zome_input",
            Kind::ZomeOutput => "zome_output",
            Kind::ClientEncoded => "client_encoded",
        }
    }
}

/// One vector of `index.json`: `zome-bindings/test-vectors/<name>.msgpack`.
#[derive(Clone, Copy, Debug)]
pub struct VectorInfo {
    pub name: &'static str,
    pub dna: &'static str,
    pub kind: Kind,
    pub rust_type: &'static str,
    /// The zod schema of zome-bindings/src/*.ts that must parse it (the TS test maps this name
    /// to the schema).
    pub schema: &'static str,
    pub description: &'static str,
}

const fn v(name: &'static str, dna: &'static str, kind: Kind, rust_type: &'static str, schema: &'static str, description: &'static str) -> VectorInfo {
    VectorInfo { name, dna, kind, rust_type, schema, description }
}

pub const AGENT_REGISTRY: &str = "agent_registry";
pub const RESOURCE_MESH: &str = "resource_mesh";
pub const ARTIFACT_INDEX: &str = "artifact_index";

/// Every vector. Each DNA's test produces exactly the vectors listed here under its DNA.
pub const VECTORS: &[VectorInfo] = {
    use Kind::*;
    &[
        // agent_registry
        v("node_capability_gpu", AGENT_REGISTRY, Entry, "agent_registry_integrity::NodeCapability", "nodeCapabilitySchema",
          "NodeCapability of a GPU node: compute.gpu Some, one model by sha256 only and one by CID only, non-ASCII agent_name, two multiaddrs"),
        v("node_capability_no_gpu", AGENT_REGISTRY, Entry, "agent_registry_integrity::NodeCapability", "nodeCapabilitySchema",
          "NodeCapability of a CPU-only node: compute.gpu None (nil), a model with sha256 and CID, no multiaddrs, cpu_cores needing a uint8"),
        v("node_capability_integral_floats", AGENT_REGISTRY, ClientEncoded, "agent_registry_integrity::NodeCapability", "nodeCapabilitySchema",
          "NodeCapability whose integral floats (0, 24, 48, 64, 100, 1000, 2000, 70000) are msgpack ints, as @msgpack/msgpack writes them: what the TS client sends. Rust decodes it to the same value (and would re-encode those fields as float64)"),
        v("heartbeat", AGENT_REGISTRY, Entry, "agent_registry_integrity::Heartbeat", "heartbeatSchema",
          "Heartbeat with its live load"),
        v("heartbeat_input", AGENT_REGISTRY, ZomeInput, "agent_registry::HeartbeatInput", "heartbeatSchema.omit({ agent: true })",
          "publish_heartbeat input"),
        v("capability_record", AGENT_REGISTRY, ZomeOutput, "agent_registry::CapabilityRecord", "capabilityRecordSchema",
          "get_capability / list_nodes / list_capabilities / get_nodes_with_model element"),
        v("node_status", AGENT_REGISTRY, ZomeOutput, "agent_registry::NodeStatus", "nodeStatusSchema",
          "get_nodes_since element: newest heartbeat (Found<Heartbeat>) and latest capability (Some)"),
        // resource_mesh
        v("job_inline", RESOURCE_MESH, Entry, "resource_mesh_integrity::Job", "jobSchema",
          "open Job with an inline payload over 255 bytes (a str16), moe_group Some, 30 s claim window"),
        v("job_cid", RESOURCE_MESH, Entry, "resource_mesh_integrity::Job", "jobSchema",
          "assigned Job with its payload by CID, moe_group None, claim window 0"),
        v("assignment", RESOURCE_MESH, Entry, "resource_mesh_integrity::Assignment", "assignmentSchema",
          "Assignment of slot 3, epoch 2"),
        v("job_result_inline", RESOURCE_MESH, Entry, "resource_mesh_integrity::JobResult", "jobResultSchema",
          "JobResult with its output inline, model by sha256"),
        v("job_result_cid", RESOURCE_MESH, Entry, "resource_mesh_integrity::JobResult", "jobResultSchema",
          "JobResult with its output by CID, model by CID, tokens needing a uint32"),
        v("claim", RESOURCE_MESH, Entry, "resource_mesh_integrity::Claim", "claimSchema",
          "Claim on slot 0 of an open job"),
        v("allocation_with_provider", RESOURCE_MESH, Entry, "resource_mesh_integrity::Allocation", "allocationSchema",
          "Allocation on a named provider (Some) with a locality preference"),
        v("allocation_no_provider", RESOURCE_MESH, Entry, "resource_mesh_integrity::Allocation", "allocationSchema",
          "Allocation with provider None and locality_preference None"),
        v("allocation_release", RESOURCE_MESH, Entry, "resource_mesh_integrity::AllocationRelease", "allocationReleaseSchema",
          "AllocationRelease"),
        v("accounting_record", RESOURCE_MESH, Entry, "resource_mesh_integrity::AccountingRecord", "accountingRecordSchema",
          "AccountingRecord (u64 tokens and served_ms)"),
        v("found_job", RESOURCE_MESH, ZomeOutput, "ripple_coordinator_common::Found<resource_mesh_integrity::Job>", "foundSchema(jobSchema)",
          "get_job / list_jobs element: Found<Job> (timestamp in microseconds, a uint64)"),
        v("slot_input", RESOURCE_MESH, ZomeInput, "resource_mesh::SlotInput", "claimSchema",
          "get_claim_winner input { job, slot }: the bindings send it as a literal; checked with claimSchema, which has the same two fields"),
        v("claim_winner", RESOURCE_MESH, ZomeOutput, "resource_mesh::ClaimWinner", "claimWinnerSchema",
          "get_claim_winner output with two ranked claimants"),
        v("allocation_status", RESOURCE_MESH, ZomeOutput, "resource_mesh::AllocationStatus", "allocationStatusSchema",
          "get_my_allocations element"),
        v("agent_totals", RESOURCE_MESH, ZomeOutput, "resource_mesh::AgentTotals", "agentTotalsSchema",
          "get_agent_totals output (served_ms needing a uint64)"),
        v("posted_result", RESOURCE_MESH, ZomeOutput, "resource_mesh::PostedResult", "postedResultSchema",
          "post_result_and_accounting output with its accounting record (Some)"),
        v("posted_result_own_job", RESOURCE_MESH, ZomeOutput, "resource_mesh::PostedResult", "postedResultSchema",
          "post_result_and_accounting output on the agent's own job: accounting None"),
        v("read_cost", RESOURCE_MESH, ZomeOutput, "ripple_coordinator_common::ReadCost", "readCostSchema",
          "list_open_jobs_read_cost / get_mesh_view_read_cost output (links needing a uint16)"),
        v("action_hash", RESOURCE_MESH, ZomeOutput, "holo_hash::ActionHash", "actionHashSchema",
          "an ActionHash as create_job, assign_job, ... return it (and get_job takes it): a bin8 of 39 bytes"),
        // artifact_index
        v("artifact", ARTIFACT_INDEX, Entry, "artifact_index_integrity::Artifact", "artifactSchema",
          "model Artifact with full provenance (job and model Some, two parent CIDs), size needing a uint64"),
        v("artifact_bare", ARTIFACT_INDEX, Entry, "artifact_index_integrity::Artifact", "artifactSchema",
          "prompt Artifact with provenance job None, model None and no parent CIDs"),
        v("provider_record", ARTIFACT_INDEX, Entry, "artifact_index_integrity::ProviderRecord", "providerRecordSchema",
          "ProviderRecord"),
        v("found_artifact", ARTIFACT_INDEX, ZomeOutput, "ripple_coordinator_common::Found<artifact_index_integrity::Artifact>", "foundSchema(artifactSchema)",
          "get_artifacts_by_cid / _by_name / _by_kind / _by_job element"),
        v("found_provider_record", ARTIFACT_INDEX, ZomeOutput, "ripple_coordinator_common::Found<artifact_index_integrity::ProviderRecord>", "foundSchema(providerRecordSchema)",
          "get_providers element"),
    ]
};

// --- encoding -------------------------------------------------------------------------------

/// The bytes `create_entry(&EntryTypes::X(value))` stores (`variant` is `EntryTypes::X`),
/// checked against `holochain_serialized_bytes::encode` and decoded back.
pub fn entry_bytes<E, T>(variant: impl FnOnce(T) -> E, value: T) -> Vec<u8>
where
    for<'a> Entry: TryFrom<&'a E, Error = WasmError>,
    T: Serialize + DeserializeOwned + PartialEq + Debug + Clone,
    for<'a> T: TryFrom<&'a Entry, Error = WasmError>,
{
    let entry = Entry::try_from(&variant(value.clone())).expect("entry serializes");
    let bytes = match &entry {
        Entry::App(app) => SerializedBytes::from(app.clone()).bytes().to_vec(),
        other => panic!("expected Entry::App, got {other:?}"),
    };
    assert_eq!(bytes, holochain_serialized_bytes::encode(&value).unwrap(), "entry bytes are holochain_serialized_bytes::encode");
    assert_eq!(T::try_from(&entry).expect("entry deserializes"), value, "entry round trip");
    bytes
}

/// The bytes of a zome call's input or output (`ExternIO`), decoded back.
pub fn extern_bytes<T>(value: &T) -> Vec<u8>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let io = ExternIO::encode(value).expect("value serializes");
    assert_eq!(&io.decode::<T>().expect("value deserializes"), value, "ExternIO round trip");
    io.0
}

// --- files ----------------------------------------------------------------------------------

/// `zome-bindings/test-vectors/` of this repository.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../zome-bindings/test-vectors")
}

pub fn update_requested() -> bool {
    std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1")
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text of `index.json`.
pub fn index_json() -> String {
    let mut out = String::from("{\n");
    out.push_str("  \"generated_by\": \"RIPPLE_UPDATE_VECTORS=1 cargo test -p ripple_test_vectors (dnas/common/ripple_test_vectors)\",\n");
    out.push_str("  \"checked_by\": [\"cargo test -p ripple_test_vectors\", \"npx vitest run zome-bindings/test/test-vectors.test.ts\"],\n");
    out.push_str("  \"encoding\": \"holochain_serialized_bytes::encode (rmp-serde, structs as maps: the named encoding); entries as create_entry stores them, zome inputs/outputs as ExternIO\",\n");
    out.push_str("  \"vectors\": [\n");
    for (i, v) in VECTORS.iter().enumerate() {
        out.push_str(&format!(
            "    {{ \"file\": {}, \"schema\": {}, \"dna\": {}, \"kind\": {}, \"rust_type\": {}, \"description\": {} }}{}\n",
            json_string(&format!("{}.msgpack", v.name)),
            json_string(v.schema),
            json_string(v.dna),
            json_string(v.kind.as_str()),
            json_string(v.rust_type),
            json_string(v.description),
            if i + 1 < VECTORS.len() { "," } else { "" },
        ));
    }
    out.push_str("  ]\n}\n");
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where two byte strings first differ, with some context, for a readable failure.
fn first_difference(file: &[u8], rust: &[u8]) -> String {
    let at = file.iter().zip(rust).position(|(a, b)| a != b).unwrap_or(file.len().min(rust.len()));
    let from = at.saturating_sub(8);
    let window = |b: &[u8]| hex(&b[from.min(b.len())..(at + 24).min(b.len())]);
    format!(
        "lengths {} (file) vs {} (Rust); first difference at byte {at} (showing from byte {from}):\n  file: {}\n  rust: {}",
        file.len(),
        rust.len(),
        window(file),
        window(rust)
    )
}

/// Panics unless every entry type of the integrity crate `integrity_crate` (`units`, e.g.
/// `EntryTypes::unit_iter()`) has an [`Kind::Entry`] vector in [`VECTORS`], listed by its
/// `rust_type` `<integrity_crate>::<Type>`.
#[track_caller]
pub fn assert_every_entry_type_has_a_vector<U: Debug>(integrity_crate: &str, units: impl IntoIterator<Item = U>) {
    for unit in units {
        let ty = format!("{integrity_crate}::{unit:?}");
        assert!(VECTORS.iter().any(|v| v.kind == Kind::Entry && v.rust_type == ty), "no vector for entry type {ty}");
    }
}

/// Compares the vectors of `dna` with the committed files, or writes them when
/// `RIPPLE_UPDATE_VECTORS=1`. `produced` must be exactly the [`VECTORS`] of that DNA.
pub fn check_or_write(dna: &str, produced: &[(&str, Vec<u8>)]) {
    let mut expected: Vec<&str> = VECTORS.iter().filter(|v| v.dna == dna).map(|v| v.name).collect();
    let mut got: Vec<&str> = produced.iter().map(|(name, _)| *name).collect();
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected, "the {dna} test must produce exactly the {dna} vectors of VECTORS");

    let dir = vectors_dir();
    if update_requested() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in produced {
            std::fs::write(dir.join(format!("{name}.msgpack")), bytes).unwrap();
        }
        eprintln!("wrote {} {dna} vectors to {}", produced.len(), dir.display());
        return;
    }
    let failures: Vec<String> = produced
        .iter()
        .filter_map(|(name, bytes)| {
            let path = dir.join(format!("{name}.msgpack"));
            match std::fs::read(&path) {
                Ok(committed) if &committed == bytes => None,
                Ok(committed) => Some(format!("{name}.msgpack differs: {}", first_difference(&committed, bytes))),
                Err(e) => Some(format!("{}: {e}", path.display())),
            }
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{dna} test vectors out of date (if the change is intended, run `{UPDATE_ENV}=1 cargo test -p ripple_test_vectors` \
         and check that zome-bindings/test/test-vectors.test.ts still passes):\n{}",
        failures.join("\n")
    );
}
