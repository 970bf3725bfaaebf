//! Host-side tests of artifact_index's `validate` callback: plain `cargo test`, no conductor and
//! no wasm. `ripple_test_hdi::TestHdi` stands in for the host: it gives `op.flattened()` this
//! zome's types and serves `must_get_valid_record` from an in-memory store of signed records.
//!
//! Every create is validated in both forms `validate` sees it in: the entry authority's
//! `Op::CreateEntry` (or the base authority's `Op::CreateLink`) and the record authority's
//! `Op::CreateRecord`; both must agree.
//!
//! Dangling references (a link's target absent from the store) are neither valid nor invalid:
//! the conductor's `must_get_valid_record` raises `HostShortCircuit(UnresolvedDependencies)`,
//! the op stays pending and is retried later. On the host the zome's `?` returns that error;
//! the tests assert it and that the conductor would read it as `UnresolvedDependencies([hash])`
//! (see resource_mesh_integrity/tests/validate/ for the long story). An artifact's
//! `provenance.job` is an action hash in another DNA (resource_mesh): nothing here fetches it.
use artifact_index_integrity::*;
use hdi::prelude::*;
use ripple_integrity_common::MAX_CID_LEN;
use ripple_test_hdi::*;

// --- set-up -------------------------------------------------------------------------------
//
// Every action is timed from `ripple_test_hdi::T0_MICROS` (`at(ms)`).

struct World {
    hdi: TestHdi,
    /// The agent that produced and registers the artifact, and pins it.
    registrar: TestAgent,
    other: TestAgent,
}

/// A fresh HDI (one per test: the HDI is per thread) with this zome's entry and link types.
fn world() -> World {
    World { hdi: TestHdi::install_for::<UnitEntryTypes, LinkTypes>(0), registrar: test_agent(1), other: test_agent(2) }
}

/// `store`, `create`, `link` and `tagged_link` (10 s after T0) come from `HdiWorld`.
impl HdiWorld for World {
    fn hdi(&self) -> &TestHdi {
        &self.hdi
    }
}

// --- entries that pass ----------------------------------------------------------------------

const SHA256_HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const MODEL_SHA256_HEX: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
const OUTPUT_CID: &str = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
const PROMPT_CID: &str = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

/// The resource_mesh job that produced the output: an action hash in another DNA.
fn job_hash() -> ActionHash {
    ActionHash::from_raw_32(vec![0x1b; 32])
}

fn artifact(agent: &TestAgent) -> Artifact {
    Artifact {
        cid: OUTPUT_CID.into(),
        name: "answer.txt".into(),
        kind: "output".into(),
        size: 1234,
        sha256: SHA256_HEX.into(),
        mime: "text/plain".into(),
        provenance: Provenance {
            job: Some(job_hash()),
            model: Some(MODEL_SHA256_HEX.into()),
            agent: agent.pub_key(),
            parent_cids: vec![PROMPT_CID.into()],
        },
    }
}

fn provider(agent: &TestAgent) -> ProviderRecord {
    ProviderRecord { cid: OUTPUT_CID.into(), agent: agent.pub_key() }
}

// --- verdicts -------------------------------------------------------------------------------

// expect_valid / expect_invalid / expect_unresolved (see the file's header) / expect_not_valid,
// on both forms of a create, judged by this zome's `validate`.
ripple_test_hdi::validate_verdicts!(validate);

/// The set-up itself: stored records really are signed by their authors.
#[test]
fn stored_records_are_signed_by_their_authors() {
    let w = world();
    let hash = w.store(&w.registrar, EntryTypes::Artifact(artifact(&w.registrar)), 0);
    assert_signed_by(hash, &w.registrar, &w.other);
}

// --- entry types ----------------------------------------------------------------------------

/// One valid create of every entry type; fails when the zome gains a type without a case here.
#[test]
fn every_entry_type_has_a_valid_case() {
    let w = world();
    let cases = [
        (&w.registrar, EntryTypes::Artifact(artifact(&w.registrar))),
        (&w.registrar, EntryTypes::ProviderRecord(provider(&w.registrar))),
    ];
    assert_covers_every(cases.iter().map(|(_, entry)| entry.to_unit()), UnitEntryTypes::iter(), "an entry type has no test case");
    for (author, entry) in cases {
        expect_valid(w.create(author, entry, 1_000));
    }
}

mod artifact;

mod provider_record;

/// Updates and deletes are not part of this DNA.
mod append_only;

// --- link types -----------------------------------------------------------------------------

/// One link type with everything needed to write it validly, and what its rules say.
struct LinkCase {
    link: LinkTypes,
    /// Who may write it: the target's author.
    author: TestAgent,
    base: AnyLinkableHash,
    target: ActionHash,
    /// The type name the zome uses in its messages.
    what: &'static str,
    /// A base this link may not start at (the index of another value), and the rule it breaks.
    wrong_base: AnyLinkableHash,
    /// The same key in another index (CID index vs providers index, name vs kind, …).
    other_index: AnyLinkableHash,
    base_rule: &'static str,
    /// A stored record of the author's of another type.
    other_type: ActionHash,
}

/// The registrar's artifact and provider record, and a case for every link type.
fn link_cases() -> (World, Vec<LinkCase>) {
    let w = world();
    let a = artifact(&w.registrar);
    let artifact = w.store(&w.registrar, EntryTypes::Artifact(a.clone()), 0);
    let provider = w.store(&w.registrar, EntryTypes::ProviderRecord(provider(&w.registrar)), 1_000);
    let h = |hash: ExternResult<EntryHash>| AnyLinkableHash::from(hash.unwrap());
    let r = w.registrar.clone();
    #[rustfmt::skip]
    let cases = vec![
        LinkCase { link: LinkTypes::CidToArtifacts, author: r.clone(), base: h(cid_index_hash(&a.cid)), target: artifact.clone(), what: "Artifact",
                   wrong_base: h(cid_index_hash(PROMPT_CID)), other_index: h(providers_index_hash(&a.cid)),
                   base_rule: "a CidToArtifacts link must start at the artifact's CID index", other_type: provider.clone() },
        LinkCase { link: LinkTypes::NameToArtifacts, author: r.clone(), base: h(name_index_hash(&a.name)), target: artifact.clone(), what: "Artifact",
                   wrong_base: h(name_index_hash("question.txt")), other_index: h(cid_index_hash(&a.name)),
                   base_rule: "a NameToArtifacts link must start at the artifact's name index", other_type: provider.clone() },
        LinkCase { link: LinkTypes::KindToArtifacts, author: r.clone(), base: h(kind_index_hash(&a.kind)), target: artifact.clone(), what: "Artifact",
                   wrong_base: h(kind_index_hash("model")), other_index: h(name_index_hash(&a.kind)),
                   base_rule: "a KindToArtifacts link must start at the artifact's kind index", other_type: provider.clone() },
        LinkCase { link: LinkTypes::JobToArtifacts, author: r.clone(), base: job_hash().into(), target: artifact.clone(), what: "Artifact",
                   wrong_base: ActionHash::from_raw_32(vec![0xee; 32]).into(), other_index: EntryHash::from_raw_32(job_hash().get_raw_32().to_vec()).into(),
                   base_rule: "a JobToArtifacts link must start at the job named in the artifact's provenance", other_type: provider.clone() },
        LinkCase { link: LinkTypes::CidToProviders, author: r.clone(), base: h(providers_index_hash(&a.cid)), target: provider.clone(), what: "ProviderRecord",
                   wrong_base: h(providers_index_hash(PROMPT_CID)), other_index: h(cid_index_hash(&a.cid)),
                   base_rule: "a CidToProviders link must start at the provider record's CID", other_type: artifact.clone() },
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

fn link_valid(link: LinkTypes) {
    let (w, c) = link_case(link);
    expect_valid(w.link(&c.author, c.link, c.base, c.target.into()));
}

/// Wrong author: the other agent links the registrar's record.
fn link_rejects_anothers_target(link: LinkTypes) {
    let (w, c) = link_case(link);
    expect_invalid(w.link(&w.other, c.link, c.base, c.target.into()), &["a link may only point at its author's own", c.what]);
}

fn link_rejects_wrong_base(link: LinkTypes) {
    let (w, c) = link_case(link);
    expect_invalid(w.link(&c.author, c.link, c.wrong_base, c.target.clone().into()), &[c.base_rule]);
    expect_invalid(w.link(&c.author, c.link, c.other_index, c.target.clone().into()), &[c.base_rule]);
    expect_invalid(w.link(&c.author, c.link, c.author.pub_key().into(), c.target.into()), &[c.base_rule]);
}

fn link_rejects_target_that_is_not_an_action(link: LinkTypes) {
    let (w, c) = link_case(link);
    let entry_hash = must_get_valid_record(c.target.clone()).unwrap().action().entry_hash().unwrap().clone();
    expect_invalid(w.link(&c.author, c.link, c.base.clone(), entry_hash.into()), &[&format!("must point at a {} action", c.what)]);
    expect_invalid(w.link(&c.author, c.link, c.base, w.registrar.pub_key().into()), &[&format!("must point at a {} action", c.what)]);
}

fn link_rejects_target_of_another_type(link: LinkTypes) {
    let (w, c) = link_case(link);
    expect_invalid(w.link(&c.author, c.link, c.base, c.other_type.into()), &[&format!("the referenced record is not a {}", c.what)]);
}

fn link_dangling_target_is_unresolved(link: LinkTypes) {
    let (w, c) = link_case(link);
    w.hdi.remove(&c.target).expect("the target was stored");
    expect_unresolved(w.link(&c.author, c.link, c.base, c.target.clone().into()), &c.target);
}

/// A link to a record the network rejected is judged like any other (type, author, base): readers
/// skip the invalid target when they fetch it. Requiring a valid target left such a link pending on
/// every node for good (the conductor answers UnresolvedDependencies and re-validates it every few
/// seconds).
fn link_rejected_target_is_judged_by_readers(link: LinkTypes) {
    let (w, c) = link_case(link);
    let record = w.hdi.remove(&c.target).expect("the target was stored");
    w.hdi.store_rejected(record);
    expect_valid(w.link(&c.author, c.link, c.base, c.target.clone().into()));
}

// A module per link type, with the seven tests above (`ripple_test_hdi::link_type_tests!`) and one
// more.
ripple_test_hdi::link_type_tests! {
    extra {
        rejects_a_delete => append_only::link_delete_is_rejected,
    }
    link_cid_to_artifacts => LinkTypes::CidToArtifacts,
    link_name_to_artifacts => LinkTypes::NameToArtifacts,
    link_kind_to_artifacts => LinkTypes::KindToArtifacts,
    link_job_to_artifacts => LinkTypes::JobToArtifacts,
    link_cid_to_providers => LinkTypes::CidToProviders,
}

/// An artifact that names no job cannot be linked from any job.
#[test]
fn link_job_to_artifacts_rejects_an_artifact_without_a_job() {
    let (w, c) = link_case(LinkTypes::JobToArtifacts);
    let jobless = Artifact { provenance: Provenance { job: None, ..artifact(&w.registrar).provenance }, ..artifact(&w.registrar) };
    let target = w.store(&w.registrar, EntryTypes::Artifact(jobless), 2_000);
    expect_invalid(w.link(&c.author, c.link, c.base, target.into()), &[c.base_rule]);
}

/// Each index takes every artifact under its own key: a second artifact of the same kind but
/// another CID and name.
#[test]
fn links_follow_the_targets_own_fields() {
    let w = world();
    let a = Artifact { cid: PROMPT_CID.into(), name: "question.txt".into(), ..artifact(&w.registrar) };
    let target: AnyLinkableHash = w.store(&w.registrar, EntryTypes::Artifact(a.clone()), 0).into();
    let h = |hash: ExternResult<EntryHash>| AnyLinkableHash::from(hash.unwrap());
    expect_valid(w.link(&w.registrar, LinkTypes::CidToArtifacts, h(cid_index_hash(PROMPT_CID)), target.clone()));
    expect_valid(w.link(&w.registrar, LinkTypes::NameToArtifacts, h(name_index_hash("question.txt")), target.clone()));
    expect_valid(w.link(&w.registrar, LinkTypes::KindToArtifacts, h(kind_index_hash("output")), target.clone()));
    expect_invalid(w.link(&w.registrar, LinkTypes::CidToArtifacts, h(cid_index_hash(OUTPUT_CID)), target.clone()), &["must start at the artifact's CID index"]);
    expect_invalid(w.link(&w.registrar, LinkTypes::NameToArtifacts, h(name_index_hash("answer.txt")), target), &["must start at the artifact's name index"]);
}

// --- closed gaps (found by these tests, fixed in the zomes) ---------------------------------

/// agent_registry rejects a tag on its untagged index links ("this link carries no tag");
/// artifact_index checks no tag at all, so every one of its links can carry arbitrary bytes
/// that nothing validates (bounded only by Holochain's own limits).
#[test]
fn links_reject_a_tag() {
    for link in LinkTypes::iter() {
        let (w, c) = link_case(link);
        let tag = LinkTag::new(vec![0xff; 512]);
        expect_invalid(w.tagged_link(&c.author, c.link, c.base, c.target.into(), tag), &[]);
    }
}

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
