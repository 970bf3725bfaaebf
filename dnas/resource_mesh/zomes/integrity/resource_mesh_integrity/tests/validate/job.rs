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

/// A deadline is judged against the job's own action time: at most 7 days later. One already past
/// is allowed (the job is simply over: the author read its clock before its write waited its turn).
#[test]
fn rejects_deadline_not_positive_or_past_seven_days() {
    let written_ms = T0_MICROS / 1000;
    for deadline_ms in [0, -1, written_ms + MAX_JOB_LIFETIME_MS + 1, i64::MAX] {
        expect_invalid(check(Job { deadline_ms, ..job() }), &["deadline_ms", &format!("got {deadline_ms}")]);
    }
    for deadline_ms in [1, written_ms - 1, written_ms + MAX_JOB_LIFETIME_MS] {
        expect_valid(check(Job { deadline_ms, ..job() }));
    }
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

/// Labels refuse control characters, anywhere in them (C0, DEL and C1 alike).
#[test]
fn rejects_control_characters_in_labels() {
    for bad in CONTROL_TEXTS {
        expect_invalid(check(Job { trace_id: format!("t{bad}"), ..job() }), &["trace_id", "control characters"]);
        expect_invalid(check(Job { moe_group: Some(format!("m{bad}")), ..job() }), &["moe_group", "control characters"]);
    }
}
