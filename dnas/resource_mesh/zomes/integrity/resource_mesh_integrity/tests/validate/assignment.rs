use super::*;

#[test]
fn valid() {
    let w = world();
    let job = w.posted_job();
    expect_valid(w.create(&w.requester, EntryTypes::Assignment(assignment(&job, &w.worker)), 1_000));
    // A reassignment is a new assignment with a higher epoch, to anyone (even the author).
    let again = Assignment { epoch: MAX_EPOCH, slot: MAX_SLOT - 1, ..assignment(&job, &w.requester) };
    expect_valid(w.create(&w.requester, EntryTypes::Assignment(again), 2_000));
}

#[test]
fn rejects_an_author_other_than_the_jobs() {
    let w = world();
    let job = w.posted_job();
    // The worker cannot assign the requester's job, not even to itself.
    expect_invalid(w.create(&w.worker, EntryTypes::Assignment(assignment(&job, &w.worker)), 1_000), &["only the job's author"]);
    expect_invalid(w.create(&w.stranger, EntryTypes::Assignment(assignment(&job, &w.worker)), 1_000), &["only the job's author"]);
}

#[test]
fn rejects_epoch_out_of_range() {
    let w = world();
    let job = w.posted_job();
    for epoch in [0, MAX_EPOCH + 1] {
        let a = Assignment { epoch, ..assignment(&job, &w.worker) };
        expect_invalid(w.create(&w.requester, EntryTypes::Assignment(a), 1_000), &["epoch", &format!("got {epoch}")]);
    }
}

#[test]
fn rejects_slot_out_of_range() {
    let w = world();
    let job = w.posted_job();
    let a = Assignment { slot: MAX_SLOT, ..assignment(&job, &w.worker) };
    expect_invalid(w.create(&w.requester, EntryTypes::Assignment(a), 1_000), &["slot", &format!("got {MAX_SLOT}")]);
}

#[test]
fn rejects_a_job_reference_to_another_type() {
    let w = world();
    let (_, assignment_hash) = w.assigned();
    let a = assignment(&assignment_hash, &w.worker);
    expect_invalid(w.create(&w.requester, EntryTypes::Assignment(a), 2_000), &["assignment.job", "not a Job"]);
}

#[test]
fn dangling_job_is_unresolved() {
    let w = world();
    let missing = w.unstored(&w.requester, EntryTypes::Job(job()));
    expect_unresolved(w.create(&w.requester, EntryTypes::Assignment(assignment(&missing, &w.worker)), 1_000), &missing);
}

/// A job the network rejected is no better than a missing one: the conductor's
/// `must_get_valid_record` answers both with UnresolvedDependencies.
#[test]
fn rejected_job_is_unresolved() {
    let w = world();
    let record = w.hdi.typed_entry_record(&w.requester, &EntryTypes::Job(Job { kind: "mining".into(), ..job() }), at(0));
    let rejected = w.hdi.store_rejected(record);
    expect_unresolved(w.create(&w.requester, EntryTypes::Assignment(assignment(&rejected, &w.worker)), 1_000), &rejected);
}
