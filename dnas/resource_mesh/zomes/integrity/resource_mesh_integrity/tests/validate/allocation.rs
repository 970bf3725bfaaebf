use super::*;

fn check(a: Allocation) -> [Op; 2] {
    let w = world();
    w.create(&w.requester, EntryTypes::Allocation(a), 0)
}

#[test]
fn valid() {
    let w = world();
    expect_valid(check(allocation(None)));
    expect_valid(check(allocation(Some(&w.worker))));
    for resource_type in RESOURCE_TYPES {
        expect_valid(check(Allocation { resource_type: resource_type.into(), locality_preference: None, ..allocation(None) }));
    }
    expect_valid(check(Allocation { duration_seconds: MAX_ALLOCATION_SECONDS, ..allocation(None) }));
}

/// Allocating has no author rule: any agent may request resources.
#[test]
fn any_agent_may_allocate() {
    let w = world();
    expect_valid(w.create(&w.stranger, EntryTypes::Allocation(allocation(Some(&w.worker))), 0));
}

#[test]
fn rejects_unknown_resource_type() {
    expect_invalid(check(Allocation { resource_type: "quantum".into(), ..allocation(None) }), &["resource_type", "quantum"]);
}

#[test]
fn rejects_duration_out_of_range() {
    for duration_seconds in [0, MAX_ALLOCATION_SECONDS + 1] {
        expect_invalid(check(Allocation { duration_seconds, ..allocation(None) }), &["duration_seconds", &format!("got {duration_seconds}")]);
    }
}

/// An expiry is judged against the allocation's own action time: at most its duration later. One
/// already past is allowed (a short allocation whose write waited its turn is simply over).
#[test]
fn rejects_expiry_not_positive_or_past_its_duration() {
    let written_ms = T0_MICROS / 1000;
    let duration_ms = i64::from(allocation(None).duration_seconds) * 1000;
    for expires_at_ms in [0, -1, written_ms + duration_ms + 1, i64::MAX] {
        expect_invalid(check(Allocation { expires_at_ms, ..allocation(None) }), &["expires_at_ms", &format!("got {expires_at_ms}")]);
    }
    for expires_at_ms in [1, written_ms, written_ms + duration_ms] {
        expect_valid(check(Allocation { expires_at_ms, ..allocation(None) }));
    }
}

#[test]
fn rejects_oversize_requirements_and_locality() {
    expect_invalid(check(Allocation { requirements: "x".repeat(MAX_REQUIREMENTS_LEN + 1), ..allocation(None) }), &["requirements"]);
    expect_invalid(check(Allocation { locality_preference: Some("l".repeat(33)), ..allocation(None) }), &["locality_preference", "got 33"]);
    expect_invalid(check(Allocation { locality_preference: Some(String::new()), ..allocation(None) }), &["locality_preference", "got 0"]);
}

/// Labels refuse control characters, anywhere in them (C0, DEL and C1 alike).
#[test]
fn rejects_control_characters_in_labels() {
    for bad in CONTROL_TEXTS {
        expect_invalid(check(Allocation { locality_preference: Some(format!("l{bad}")), ..allocation(None) }), &["locality_preference", "control characters"]);
    }
}
