//! artifact_index vectors: Artifact (full and bare provenance), ProviderRecord, and the
//! coordinator's outputs. (One test binary per DNA: see the crate docs.)
use artifact_index_integrity::*;
use hdi::prelude::*;
use ripple_test_vectors::*;

const SHA_MODEL: &str = "5f2e3c4d6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f";
const SHA_PROMPT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b856";
const CID_MODEL: &str = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
const CID_OUTPUT: &str = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
const CID_PROMPT: &str = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG";

fn artifact() -> Artifact {
    Artifact {
        cid: CID_MODEL.into(),
        name: "llama-3.1-8b-instruct-q4_k_m.gguf".into(),
        kind: "model".into(),
        size: 4_920_734_272,
        sha256: SHA_MODEL.into(),
        mime: "application/octet-stream".into(),
        provenance: Provenance {
            job: Some(action(0x21)),
            model: Some(SHA_MODEL.into()),
            agent: agent(0x10),
            parent_cids: vec![CID_PROMPT.into(), CID_OUTPUT.into()],
        },
    }
}

fn artifact_bare() -> Artifact {
    Artifact {
        cid: CID_PROMPT.into(),
        name: "prompt.txt".into(),
        kind: "prompt".into(),
        size: 212,
        sha256: SHA_PROMPT.into(),
        mime: "text/plain; charset=utf-8".into(),
        provenance: Provenance { job: None, model: None, agent: agent(0x10), parent_cids: vec![] },
    }
}

fn provider_record() -> ProviderRecord {
    ProviderRecord { cid: CID_MODEL.into(), agent: agent(0x11) }
}

#[test]
fn artifact_index_vectors_match_committed_files() {
    let artifact_entry = |a: Artifact| entry_bytes(EntryTypes::Artifact(a.clone()), &a);
    check_or_write(
        ARTIFACT_INDEX,
        &[
            ("artifact", artifact_entry(artifact())),
            ("artifact_bare", artifact_entry(artifact_bare())),
            ("provider_record", entry_bytes(EntryTypes::ProviderRecord(provider_record()), &provider_record())),
            ("found_artifact", extern_bytes(&found(0x32, 0x10, 1, artifact()))),
            ("found_provider_record", extern_bytes(&found(0x33, 0x11, 2, provider_record()))),
        ],
    );
}

#[test]
fn every_artifact_index_entry_type_has_a_vector() {
    for unit in EntryTypes::unit_iter() {
        let ty = format!("artifact_index_integrity::{unit:?}");
        assert!(VECTORS.iter().any(|v| v.kind == Kind::Entry && v.rust_type == ty), "no vector for entry type {ty}");
    }
}
