use super::*;

fn check(edit: impl FnOnce(&mut Artifact)) -> [Op; 2] {
    let w = world();
    let mut a = artifact(&w.registrar);
    edit(&mut a);
    w.create(&w.registrar, EntryTypes::Artifact(a), 0)
}

type StringField = (&'static str, usize, fn(&mut Artifact, String));

/// Every bounded text field (1..=max bytes).
fn string_fields() -> Vec<StringField> {
    vec![
        ("cid", MAX_CID_LEN, |a, s| a.cid = s),
        ("name", MAX_ARTIFACT_NAME_LEN, |a, s| a.name = s),
        ("mime", MAX_MIME_LEN, |a, s| a.mime = s),
        ("provenance.model", MAX_CID_LEN, |a, s| a.provenance.model = Some(s)),
        ("provenance.parent_cids[]", MAX_CID_LEN, |a, s| a.provenance.parent_cids.push(s)),
    ]
}

#[test]
fn valid() {
    expect_valid(check(|_| {}));
    for kind in ARTIFACT_KINDS {
        expect_valid(check(|a| a.kind = kind.into()));
    }
    // A model uploaded by hand: no job, no model, no parents.
    expect_valid(check(|a| {
        a.kind = "model".into();
        a.provenance = Provenance { job: None, model: None, agent: a.provenance.agent.clone(), parent_cids: Vec::new() };
    }));
    // The empty file.
    expect_valid(check(|a| {
        a.size = 0;
        a.sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into();
    }));
}

#[test]
fn valid_at_every_bound() {
    expect_valid(check(|a| a.size = MAX_ARTIFACT_SIZE));
    for (_, max, set) in string_fields() {
        expect_valid(check(|a| set(a, "a".repeat(max))));
    }
    expect_valid(check(|a| a.provenance.parent_cids = vec![PROMPT_CID.into(); MAX_PARENTS]));
}

/// Any agent may register content, but only as itself.
#[test]
fn any_agent_may_register_as_itself() {
    let w = world();
    expect_valid(w.create(&w.other, EntryTypes::Artifact(artifact(&w.other)), 0));
}

#[test]
fn rejects_an_author_other_than_the_provenance_agent() {
    let w = world();
    let reason = "an Artifact's provenance.agent must be the agent registering it";
    expect_invalid(w.create(&w.other, EntryTypes::Artifact(artifact(&w.registrar)), 0), &[reason]);
    expect_invalid(w.create(&w.registrar, EntryTypes::Artifact(artifact(&w.other)), 0), &[reason]);
}

/// The producing job lives in another DNA: a job hash nobody here holds is fine.
#[test]
fn a_job_outside_this_dna_is_not_fetched() {
    let w = world();
    assert!(!w.hdi.contains(&job_hash()));
    expect_valid(check(|a| a.provenance.job = Some(ActionHash::from_raw_32(vec![0xee; 32]))));
}

#[test]
fn rejects_size_over_max() {
    for size in [MAX_ARTIFACT_SIZE + 1, u64::MAX] {
        expect_invalid(check(|a| a.size = size), &["size", &format!("0..={MAX_ARTIFACT_SIZE}"), &format!("got {size}")]);
    }
}

#[test]
fn rejects_oversize_or_empty_text() {
    for (field, max, set) in string_fields() {
        expect_invalid(check(|a| set(a, "a".repeat(max + 1))), &[field, &format!("1..={max} bytes"), &format!("got {}", max + 1)]);
        expect_invalid(check(|a| set(a, String::new())), &[field, "got 0"]);
    }
}

/// Lengths are bytes, not characters.
#[test]
fn counts_text_length_in_bytes() {
    let name = "é".repeat(MAX_ARTIFACT_NAME_LEN / 2 + 1);
    let bytes = name.len();
    expect_invalid(check(|a| a.name = name), &["name", &format!("got {bytes}")]);
}

#[test]
fn rejects_an_unknown_kind() {
    for kind in ["weights", "Model", ""] {
        expect_invalid(check(|a| a.kind = kind.into()), &["kind", &format!("{ARTIFACT_KINDS:?}"), &format!("got {kind:?}")]);
    }
}

#[test]
fn rejects_a_sha256_that_is_not_lowercase_hex() {
    for bad in [SHA256_HEX.to_uppercase(), SHA256_HEX[..63].to_string(), format!("{SHA256_HEX}0"), "z".repeat(64), String::new()] {
        expect_invalid(check(|a| a.sha256 = bad), &["sha256 must be a lowercase hex sha256"]);
    }
}

#[test]
fn rejects_too_many_parents() {
    expect_invalid(
        check(|a| a.provenance.parent_cids = vec![PROMPT_CID.into(); MAX_PARENTS + 1]),
        &["provenance.parent_cids", &format!("at most {MAX_PARENTS} items, got {}", MAX_PARENTS + 1)],
    );
}

/// Every text field refuses control characters, anywhere in it (C0, DEL and C1 alike).
#[test]
fn rejects_control_characters_in_text() {
    for (field, _, set) in string_fields() {
        for bad in CONTROL_TEXTS {
            expect_invalid(check(|a| set(a, format!("a{bad}"))), &[field, "control characters"]);
        }
    }
}
