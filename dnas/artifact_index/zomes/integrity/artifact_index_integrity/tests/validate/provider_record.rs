use super::*;

fn check(edit: impl FnOnce(&mut ProviderRecord)) -> [Op; 2] {
    let w = world();
    let mut p = provider(&w.registrar);
    edit(&mut p);
    w.create(&w.registrar, EntryTypes::ProviderRecord(p), 0)
}

#[test]
fn valid() {
    expect_valid(check(|_| {}));
    expect_valid(check(|p| p.cid = "a".repeat(MAX_CID_LEN)));
}

/// Pinning needs no Artifact record: anyone may serve any CID (readers check the content).
#[test]
fn any_agent_may_provide_any_cid() {
    let w = world();
    expect_valid(w.create(&w.other, EntryTypes::ProviderRecord(ProviderRecord { cid: PROMPT_CID.into(), ..provider(&w.other) }), 0));
}

#[test]
fn rejects_an_author_other_than_the_agent() {
    let w = world();
    let reason = "a ProviderRecord can only be written by the agent that pins the CID";
    expect_invalid(w.create(&w.other, EntryTypes::ProviderRecord(provider(&w.registrar)), 0), &[reason]);
    expect_invalid(w.create(&w.registrar, EntryTypes::ProviderRecord(provider(&w.other)), 0), &[reason]);
}

#[test]
fn rejects_oversize_or_empty_cid() {
    expect_invalid(check(|p| p.cid = "a".repeat(MAX_CID_LEN + 1)), &["cid", &format!("1..={MAX_CID_LEN} bytes"), &format!("got {}", MAX_CID_LEN + 1)]);
    expect_invalid(check(|p| p.cid = String::new()), &["cid", "got 0"]);
}
