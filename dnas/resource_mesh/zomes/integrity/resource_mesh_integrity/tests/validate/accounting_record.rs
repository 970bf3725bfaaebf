use super::*;

fn check(w: &World, author: &TestAgent, edit: impl FnOnce(&mut AccountingRecord)) -> [Op; 2] {
    let (job, assignment) = w.assigned();
    let mut record = accounting(&job, &assignment, author);
    edit(&mut record);
    w.create(author, EntryTypes::AccountingRecord(record), 3_000)
}

#[test]
fn valid() {
    let w = world();
    expect_valid(check(&w, &w.worker, |_| {}));
    expect_valid(check(&w, &w.worker, |r| {
        r.tokens = MAX_TOKENS;
        r.served_ms = MAX_SERVED_MS;
    }));
    expect_valid(check(&w, &w.worker, |r| {
        r.tokens = 0;
        r.served_ms = 0;
    }));
}

#[test]
fn rejects_a_record_for_another_agent() {
    let w = world();
    let worker = w.worker.pub_key();
    expect_invalid(check(&w, &w.requester, |r| r.agent = worker), &["only be written by the agent that served"]);
}

#[test]
fn rejects_an_author_other_than_the_assignee() {
    let w = world();
    expect_invalid(check(&w, &w.stranger, |_| {}), &["only the assignee"]);
    expect_invalid(check(&w, &w.requester, |_| {}), &["only the assignee"]);
}

#[test]
fn rejects_accounting_for_a_job_its_author_assigned_itself() {
    let w = world();
    let job = w.posted_job();
    let own = w.store(&w.requester, EntryTypes::Assignment(assignment(&job, &w.requester)), 1_000);
    let record = accounting(&job, &own, &w.requester);
    expect_invalid(w.create(&w.requester, EntryTypes::AccountingRecord(record), 3_000), &["may not account for its own job"]);
}

#[test]
fn rejects_a_job_other_than_the_assignments() {
    let w = world();
    let other_job = w.store(&w.requester, EntryTypes::Job(job()), 5);
    expect_invalid(check(&w, &w.worker, |r| r.job = other_job), &["accounting.job must be the job of its assignment"]);
}

#[test]
fn rejects_tokens_and_time_out_of_range() {
    let w = world();
    expect_invalid(check(&w, &w.worker, |r| r.tokens = MAX_TOKENS + 1), &["tokens", &format!("got {}", MAX_TOKENS + 1)]);
    expect_invalid(check(&w, &w.worker, |r| r.served_ms = MAX_SERVED_MS + 1), &["served_ms", &format!("got {}", MAX_SERVED_MS + 1)]);
}

#[test]
fn rejects_an_assignment_reference_to_another_type() {
    let w = world();
    expect_invalid(check(&w, &w.worker, |r| r.assignment = r.job.clone()), &["accounting.assignment", "not a Assignment"]);
}

#[test]
fn dangling_assignment_is_unresolved() {
    let w = world();
    let job = w.posted_job();
    let missing = w.unstored(&w.requester, EntryTypes::Assignment(assignment(&job, &w.worker)));
    let record = accounting(&job, &missing, &w.worker);
    expect_unresolved(w.create(&w.worker, EntryTypes::AccountingRecord(record), 3_000), &missing);
}
