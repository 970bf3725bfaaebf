use super::*;

const NOT_ALLOWED: &str = "artifact_index does not allow this operation";
const APPEND_ONLY: &str = "artifact_index records are append-only";

/// The record, entry and update/delete authorities' ops say "not allowed", the agent
/// activity authority says "append-only".
#[track_caller]
fn expect_all_rejected<const N: usize>(ops: [Op; N]) {
    expect_all_rejected_by(validate, ops, NOT_ALLOWED, APPEND_ONLY)
}

#[test]
fn rejects_updating_an_artifact() {
    let w = world();
    let original = w.store(&w.registrar, EntryTypes::Artifact(artifact(&w.registrar)), 0);
    let entry = Entry::try_from(&EntryTypes::Artifact(Artifact { name: "renamed.txt".into(), ..artifact(&w.registrar) })).unwrap();
    expect_all_rejected(w.hdi.update_entry_ops(&w.registrar, &original, entry, at(1_000)));
}

#[test]
fn rejects_updating_a_provider_record() {
    let w = world();
    let original = w.store(&w.registrar, EntryTypes::ProviderRecord(provider(&w.registrar)), 0);
    let entry = Entry::try_from(&EntryTypes::ProviderRecord(ProviderRecord { cid: PROMPT_CID.into(), ..provider(&w.registrar) })).unwrap();
    expect_all_rejected(w.hdi.update_entry_ops(&w.registrar, &original, entry, at(1_000)));
}

/// Unpinning is not a delete (readers check providers); neither entry can be deleted.
#[test]
fn rejects_deleting_an_artifact_or_provider_record() {
    let w = world();
    let artifact = w.store(&w.registrar, EntryTypes::Artifact(artifact(&w.registrar)), 0);
    expect_all_rejected(w.hdi.delete_entry_ops(&w.registrar, &artifact, at(1_000)));
    let provider = w.store(&w.registrar, EntryTypes::ProviderRecord(provider(&w.registrar)), 0);
    expect_all_rejected(w.hdi.delete_entry_ops(&w.registrar, &provider, at(1_000)));
}

/// The agent activity authority passes creates (their content is judged by the other ops).
#[test]
fn agent_activity_accepts_creates() {
    let w = world();
    let create = w.hdi.typed_entry_record(&w.registrar, &EntryTypes::Artifact(artifact(&w.registrar)), at(0));
    assert_eq!(validate(agent_activity_op_from_record(&create)), Ok(ValidateCallbackResult::Valid));
    let target = create.action_address().clone();
    let link = w.hdi.typed_create_link_action(&w.registrar, LinkTypes::CidToArtifacts, cid_index_hash(OUTPUT_CID).unwrap(), target, (), at(1_000));
    assert_eq!(validate(agent_activity_op(link, None)), Ok(ValidateCallbackResult::Valid));
}

pub(super) fn link_delete_is_rejected(link: LinkTypes) {
    let (w, c) = super::link_case(link);
    let create = w.hdi.typed_create_link_action(&c.author, c.link, c.base, c.target, (), at(10_000));
    w.hdi.store_action(&create);
    expect_all_rejected(w.hdi.delete_link_ops(&c.author, &create, at(20_000)));
}
