//! artifact_index vectors: Artifact (full and bare provenance), ProviderRecord, and the
//! coordinator's outputs. (One test binary per DNA: see the crate docs.)
use artifact_index_integrity::*;
use hdi::prelude::*;
use ripple_test_vectors::*;

// SHA_MODEL, CID_MODEL, CID_OUTPUT and CID_PROMPT: the samples all three DNAs' vectors share.
const SHA_PROMPT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b856";

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
    check_or_write(
        ARTIFACT_INDEX,
        &[
            ("artifact", entry_bytes(EntryTypes::Artifact, artifact())),
            ("artifact_bare", entry_bytes(EntryTypes::Artifact, artifact_bare())),
            ("provider_record", entry_bytes(EntryTypes::ProviderRecord, provider_record())),
            ("found_artifact", extern_bytes(&found(0x32, 0x10, 1, artifact()))),
            ("found_provider_record", extern_bytes(&found(0x33, 0x11, 2, provider_record()))),
        ],
    );
}

#[test]
fn every_artifact_index_entry_type_has_a_vector() {
    assert_every_entry_type_has_a_vector("artifact_index_integrity", EntryTypes::unit_iter());
}
