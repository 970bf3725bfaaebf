use super::*;

/// An open job written at T0 with a 60 s claim window.
fn open(w: &World) -> ActionHash {
    w.store(&w.requester, EntryTypes::Job(open_job()), 0)
}

#[test]
fn valid_inside_the_window() {
    let w = world();
    let job = open(&w);
    let window = i64::from(open_job().claim_window_ms);
    for ms in [0, 1_000, window] {
        expect_valid(w.create(&w.worker, EntryTypes::Claim(claim(&job)), ms));
    }
    expect_valid(w.create(&w.worker, EntryTypes::Claim(Claim { slot: MAX_SLOT - 1, ..claim(&job) }), 1_000));
}

/// Claiming has no author rule (the coordinator ranks claims): anyone, even the job's
/// author, may claim.
#[test]
fn any_agent_may_claim() {
    let w = world();
    let job = open(&w);
    expect_valid(w.create(&w.stranger, EntryTypes::Claim(claim(&job)), 1_000));
    expect_valid(w.create(&w.requester, EntryTypes::Claim(claim(&job)), 1_000));
}

#[test]
fn rejects_a_claim_outside_the_window() {
    let w = world();
    let job = open(&w);
    let window = i64::from(open_job().claim_window_ms);
    for ms in [-1, window + 1, 10 * window] {
        expect_invalid(w.create(&w.worker, EntryTypes::Claim(claim(&job)), ms), &["claim window"]);
    }
}

#[test]
fn rejects_a_claim_on_an_assigned_job() {
    let w = world();
    let job = w.posted_job();
    expect_invalid(w.create(&w.worker, EntryTypes::Claim(claim(&job)), 1_000), &["not open"]);
}

#[test]
fn rejects_slot_out_of_range() {
    let w = world();
    let job = open(&w);
    expect_invalid(w.create(&w.worker, EntryTypes::Claim(Claim { slot: MAX_SLOT, ..claim(&job) }), 1_000), &["slot", &format!("got {MAX_SLOT}")]);
}

#[test]
fn rejects_a_job_reference_to_another_type() {
    let w = world();
    let (_, assignment) = w.assigned();
    expect_invalid(w.create(&w.worker, EntryTypes::Claim(claim(&assignment)), 2_000), &["claim.job", "not a Job"]);
}

#[test]
fn dangling_job_is_unresolved() {
    let w = world();
    let missing = w.unstored(&w.requester, EntryTypes::Job(open_job()));
    expect_unresolved(w.create(&w.worker, EntryTypes::Claim(claim(&missing)), 1_000), &missing);
}
