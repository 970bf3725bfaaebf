use super::*;

fn check(job: Job) -> [Op; 2] {
    let w = world();
    w.create(&w.requester, EntryTypes::Job(job), 0)
}

#[test]
fn valid() {
    expect_valid(check(job()));
    expect_valid(check(Job { payload_inline: None, payload_cid: Some("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi".into()), ..job() }));
    expect_valid(check(Job { moe_group: Some("moe-7".into()), claim_window_ms: MAX_CLAIM_WINDOW_MS, ..job() }));
    expect_valid(check(Job { payload_inline: Some("x".repeat(MAX_PAYLOAD_INLINE_LEN)), ..job() }));
}

/// Posting a job has no author rule: any agent may post one.
#[test]
fn any_agent_may_post() {
    let w = world();
    expect_valid(w.create(&w.stranger, EntryTypes::Job(job()), 0));
}

#[test]
fn rejects_unknown_kind() {
    expect_invalid(check(Job { kind: "mining".into(), ..job() }), &["kind", "mining"]);
}

#[test]
fn rejects_nonpositive_deadline() {
    expect_invalid(check(Job { deadline_ms: 0, ..job() }), &["deadline_ms"]);
    expect_invalid(check(Job { deadline_ms: -1, ..job() }), &["deadline_ms"]);
}

#[test]
fn rejects_claim_window_over_max() {
    expect_invalid(check(Job { claim_window_ms: MAX_CLAIM_WINDOW_MS + 1, ..job() }), &["claim_window_ms", &(MAX_CLAIM_WINDOW_MS + 1).to_string()]);
}

#[test]
fn rejects_oversize_requirements() {
    expect_invalid(check(Job { requirements: "x".repeat(MAX_REQUIREMENTS_LEN + 1), ..job() }), &["requirements", &MAX_REQUIREMENTS_LEN.to_string()]);
    expect_invalid(check(Job { requirements: String::new(), ..job() }), &["requirements"]);
}

#[test]
fn rejects_oversize_inline_payload() {
    expect_invalid(check(Job { payload_inline: Some("x".repeat(MAX_PAYLOAD_INLINE_LEN + 1)), ..job() }), &["payload_inline", "IPFS"]);
}

#[test]
fn rejects_oversize_payload_cid() {
    expect_invalid(check(Job { payload_inline: None, payload_cid: Some("b".repeat(129)), ..job() }), &["payload_cid"]);
}

#[test]
fn rejects_payload_both_inline_and_cid_or_neither() {
    expect_invalid(check(Job { payload_cid: Some("bafy".into()), ..job() }), &["exactly one of payload_inline and payload_cid"]);
    expect_invalid(check(Job { payload_inline: None, ..job() }), &["exactly one of payload_inline and payload_cid"]);
}

#[test]
fn rejects_oversize_or_empty_ids() {
    expect_invalid(check(Job { trace_id: "t".repeat(MAX_ID_LEN + 1), ..job() }), &["trace_id"]);
    expect_invalid(check(Job { trace_id: String::new(), ..job() }), &["trace_id"]);
    expect_invalid(check(Job { moe_group: Some("m".repeat(MAX_ID_LEN + 1)), ..job() }), &["moe_group"]);
}
