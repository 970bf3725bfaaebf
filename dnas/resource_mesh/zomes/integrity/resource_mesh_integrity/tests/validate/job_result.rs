use super::*;

fn check(w: &World, author: &TestAgent, edit: impl FnOnce(&mut JobResult)) -> [Op; 2] {
    let (job, assignment) = w.assigned();
    let mut result = job_result(&assignment, &job);
    edit(&mut result);
    w.create(author, EntryTypes::JobResult(result), 2_000)
}

#[test]
fn valid() {
    let w = world();
    expect_valid(check(&w, &w.worker, |_| {}));
    expect_valid(check(&w, &w.worker, |r| {
        r.output_inline = None;
        r.output_cid = Some("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi".into());
    }));
}

#[test]
fn rejects_an_author_other_than_the_assignee() {
    let w = world();
    expect_invalid(check(&w, &w.requester, |_| {}), &["only the agent named by the assignment"]);
    expect_invalid(check(&w, &w.stranger, |_| {}), &["only the agent named by the assignment"]);
}

#[test]
fn rejects_a_job_other_than_the_assignments() {
    let w = world();
    let other_job = w.store(&w.requester, EntryTypes::Job(job()), 5);
    expect_invalid(check(&w, &w.worker, |r| r.job = other_job), &["result.job must be the job of its assignment"]);
}

#[test]
fn rejects_a_response_hash_that_is_not_lowercase_hex_sha256() {
    let w = world();
    for bad in [SHA256_HEX.to_uppercase(), SHA256_HEX[..63].to_string(), "z".repeat(64), String::new()] {
        expect_invalid(check(&w, &w.worker, |r| r.response_hash = bad), &["response_hash"]);
    }
}

#[test]
fn rejects_oversize_or_empty_model() {
    let w = world();
    expect_invalid(check(&w, &w.worker, |r| r.model = "m".repeat(129)), &["model", "got 129"]);
    expect_invalid(check(&w, &w.worker, |r| r.model = String::new()), &["model", "got 0"]);
}

#[test]
fn rejects_oversize_inline_output() {
    let w = world();
    expect_invalid(check(&w, &w.worker, |r| r.output_inline = Some("x".repeat(MAX_OUTPUT_INLINE_LEN + 1))), &["output_inline", "IPFS"]);
}

#[test]
fn rejects_oversize_output_cid_and_both_or_neither() {
    let w = world();
    expect_invalid(check(&w, &w.worker, |r| {
        r.output_inline = None;
        r.output_cid = Some("b".repeat(129));
    }), &["output_cid"]);
    expect_invalid(check(&w, &w.worker, |r| r.output_inline = None), &["exactly one of output_inline and output_cid"]);
    expect_invalid(check(&w, &w.worker, |r| r.output_cid = Some("bafy".into())), &["exactly one of output_inline and output_cid"]);
}

#[test]
fn rejects_an_assignment_reference_to_another_type() {
    let w = world();
    expect_invalid(check(&w, &w.worker, |r| r.assignment = r.job.clone()), &["result.assignment", "not a Assignment"]);
}

#[test]
fn dangling_assignment_is_unresolved() {
    let w = world();
    let job = w.posted_job();
    let missing = w.unstored(&w.requester, EntryTypes::Assignment(assignment(&job, &w.worker)));
    expect_unresolved(w.create(&w.worker, EntryTypes::JobResult(job_result(&missing, &job)), 2_000), &missing);
}
