//! Host-side tests of resource_mesh's `validate` callback: plain `cargo test`, no conductor and
//! no wasm. `ripple_test_hdi::TestHdi` stands in for the host: it gives `op.flattened()` this
//! zome's types and serves `must_get_valid_record` from an in-memory store of signed records.
//!
//! Every create is validated in both forms `validate` sees it in: the entry authority's
//! `Op::CreateEntry` (or the base authority's `Op::CreateLink`) and the record authority's
//! `Op::CreateRecord`; both must agree.
//!
//! Dangling references (a referenced record absent from the store). In the conductor,
//! `must_get_valid_record` of a record it does not have (or does not hold as valid) raises
//! `WasmErrorInner::HostShortCircuit` carrying `ValidateCallbackResult::UnresolvedDependencies`:
//! that traps the wasm, and the conductor takes the carried value as `validate`'s result, so the
//! op stays pending and is validated again later ("retry later"), never rejected. `TestHdi`
//! raises the same error, and on the host nothing traps: the zome's `?` returns it, so
//! `validate` returns `Err(HostShortCircuit(..))`. The tests assert exactly that, and that the
//! conductor would read it as `UnresolvedDependencies([the missing hash])`. (With no HDI
//! installed at all, hdi's default `ErrHdi` would give a `Guest("... HDI not registered")`
//! error instead, and with `hdi::test_utils::set_zome_types` alone `must_get_*` panics.)
use hdi::prelude::*;
use resource_mesh_integrity::*;
use ripple_test_hdi::*;

// --- set-up -------------------------------------------------------------------------------
//
// Every action is timed from `ripple_test_hdi::T0_MICROS` (`at(ms)`).

struct World {
    hdi: TestHdi,
    requester: TestAgent,
    worker: TestAgent,
    stranger: TestAgent,
}

/// A fresh HDI (one per test: the HDI is per thread) with this zome's entry and link types.
fn world() -> World {
    World {
        hdi: TestHdi::install_for::<UnitEntryTypes, LinkTypes>(0),
        requester: test_agent(1),
        worker: test_agent(2),
        stranger: test_agent(3),
    }
}

/// `store`, `create` and `link` (untagged, 10 s after T0) come from `HdiWorld`.
impl HdiWorld for World {
    fn hdi(&self) -> &TestHdi {
        &self.hdi
    }
}

impl World {
    /// A record of `entry` by `author` that the store never receives.
    fn unstored(&self, author: &TestAgent, entry: EntryTypes) -> ActionHash {
        self.hdi.typed_entry_record(author, &entry, at(0)).action_address().clone()
    }

    fn posted_job(&self) -> ActionHash {
        self.store(&self.requester, EntryTypes::Job(job()), 0)
    }

    /// The requester's job, assigned to the worker.
    fn assigned(&self) -> (ActionHash, ActionHash) {
        let job = self.posted_job();
        let assignment = self.store(&self.requester, EntryTypes::Assignment(assignment(&job, &self.worker)), 1_000);
        (job, assignment)
    }
}

// --- entries that pass ----------------------------------------------------------------------

const SHA256_HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn job() -> Job {
    Job {
        kind: "inference".into(),
        requirements: r#"{"model":"qwen2.5-coder-0.5b"}"#.into(),
        payload_inline: Some("What is 2 + 2?".into()),
        payload_cid: None,
        deadline_ms: T0_MICROS / 1000 + 600_000,
        moe_group: None,
        trace_id: "trace-1".into(),
        claim_window_ms: 0,
    }
}

fn open_job() -> Job {
    Job { claim_window_ms: 60_000, ..job() }
}

fn assignment(job: &ActionHash, assignee: &TestAgent) -> Assignment {
    Assignment { job: job.clone(), assignee: assignee.pub_key(), slot: 0, epoch: 1 }
}

fn job_result(assignment: &ActionHash, job: &ActionHash) -> JobResult {
    JobResult {
        assignment: assignment.clone(),
        job: job.clone(),
        output_inline: Some("4".into()),
        output_cid: None,
        response_hash: SHA256_HEX.into(),
        tokens: 12,
        latency_ms: 340,
        model: SHA256_HEX.into(),
    }
}

fn claim(job: &ActionHash) -> Claim {
    Claim { job: job.clone(), slot: 0 }
}

fn allocation(provider: Option<&TestAgent>) -> Allocation {
    Allocation {
        resource_type: "gpu".into(),
        requirements: r#"{"memory_gb":8}"#.into(),
        locality_preference: Some("same-region".into()),
        duration_seconds: 3600,
        expires_at_ms: T0_MICROS / 1000 + 3_600_000,
        provider: provider.map(TestAgent::pub_key),
    }
}

fn release(allocation: &ActionHash) -> AllocationRelease {
    AllocationRelease { allocation: allocation.clone(), reason: "done".into() }
}

fn accounting(job: &ActionHash, assignment: &ActionHash, agent: &TestAgent) -> AccountingRecord {
    AccountingRecord { job: job.clone(), assignment: assignment.clone(), agent: agent.pub_key(), tokens: 12, served_ms: 340 }
}

// --- verdicts -------------------------------------------------------------------------------

// expect_valid / expect_invalid / expect_unresolved (see the file's header) / expect_not_valid,
// on both forms of a create, judged by this zome's `validate`.
ripple_test_hdi::validate_verdicts!(validate);

/// The set-up itself: stored records really are signed by their authors.
#[test]
fn stored_records_are_signed_by_their_authors() {
    let w = world();
    assert_signed_by(w.posted_job(), &w.requester, &w.worker);
}

// --- entry types ----------------------------------------------------------------------------

/// One valid create of every entry type; fails when the zome gains a type without a case here.
#[test]
fn every_entry_type_has_a_valid_case() {
    let w = world();
    let (job, assignment) = w.assigned();
    let open = w.store(&w.requester, EntryTypes::Job(open_job()), 0);
    let alloc = w.store(&w.requester, EntryTypes::Allocation(allocation(Some(&w.worker))), 0);
    let cases = [
        (&w.requester, EntryTypes::Job(self::job())),
        (&w.requester, EntryTypes::Assignment(self::assignment(&job, &w.worker))),
        (&w.worker, EntryTypes::JobResult(job_result(&assignment, &job))),
        (&w.stranger, EntryTypes::Claim(claim(&open))),
        (&w.requester, EntryTypes::Allocation(allocation(None))),
        (&w.requester, EntryTypes::AllocationRelease(release(&alloc))),
        (&w.worker, EntryTypes::AccountingRecord(accounting(&job, &assignment, &w.worker))),
    ];
    assert_covers_every(cases.iter().map(|(_, entry)| entry.to_unit()), UnitEntryTypes::iter(), "an entry type has no test case");
    for (author, entry) in cases {
        expect_valid(w.create(author, entry, 2_000));
    }
}

mod job {
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
}

mod assignment {
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
}

mod job_result {
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
}

mod claim {
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
}

mod allocation {
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

    #[test]
    fn rejects_nonpositive_expiry() {
        expect_invalid(check(Allocation { expires_at_ms: 0, ..allocation(None) }), &["expires_at_ms"]);
    }

    #[test]
    fn rejects_oversize_requirements_and_locality() {
        expect_invalid(check(Allocation { requirements: "x".repeat(MAX_REQUIREMENTS_LEN + 1), ..allocation(None) }), &["requirements"]);
        expect_invalid(check(Allocation { locality_preference: Some("l".repeat(33)), ..allocation(None) }), &["locality_preference", "got 33"]);
        expect_invalid(check(Allocation { locality_preference: Some(String::new()), ..allocation(None) }), &["locality_preference", "got 0"]);
    }
}

mod allocation_release {
    use super::*;

    /// The requester's allocation, naming the worker as provider.
    fn allocated(w: &World) -> ActionHash {
        w.store(&w.requester, EntryTypes::Allocation(allocation(Some(&w.worker))), 0)
    }

    #[test]
    fn valid_by_requester_or_provider() {
        let w = world();
        let alloc = allocated(&w);
        expect_valid(w.create(&w.requester, EntryTypes::AllocationRelease(release(&alloc)), 1_000));
        expect_valid(w.create(&w.worker, EntryTypes::AllocationRelease(release(&alloc)), 1_000));
    }

    #[test]
    fn rejects_an_author_other_than_requester_or_provider() {
        let w = world();
        let alloc = allocated(&w);
        expect_invalid(w.create(&w.stranger, EntryTypes::AllocationRelease(release(&alloc)), 1_000), &["only the allocation's requester or its provider"]);
        // Without a provider, only the requester.
        let unnamed = w.store(&w.requester, EntryTypes::Allocation(allocation(None)), 0);
        expect_invalid(w.create(&w.worker, EntryTypes::AllocationRelease(release(&unnamed)), 1_000), &["only the allocation's requester or its provider"]);
    }

    #[test]
    fn rejects_oversize_or_empty_reason() {
        let w = world();
        let alloc = allocated(&w);
        let long = AllocationRelease { reason: "r".repeat(MAX_REASON_LEN + 1), ..release(&alloc) };
        expect_invalid(w.create(&w.requester, EntryTypes::AllocationRelease(long), 1_000), &["reason", &format!("got {}", MAX_REASON_LEN + 1)]);
        let empty = AllocationRelease { reason: String::new(), ..release(&alloc) };
        expect_invalid(w.create(&w.requester, EntryTypes::AllocationRelease(empty), 1_000), &["reason", "got 0"]);
    }

    #[test]
    fn rejects_an_allocation_reference_to_another_type() {
        let w = world();
        let job = w.posted_job();
        expect_invalid(w.create(&w.requester, EntryTypes::AllocationRelease(release(&job)), 1_000), &["release.allocation", "not a Allocation"]);
    }

    #[test]
    fn dangling_allocation_is_unresolved() {
        let w = world();
        let missing = w.unstored(&w.requester, EntryTypes::Allocation(allocation(None)));
        expect_unresolved(w.create(&w.requester, EntryTypes::AllocationRelease(release(&missing)), 1_000), &missing);
    }
}

mod accounting_record {
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
}

/// Updates and deletes are not part of this DNA.
mod append_only {
    use super::*;

    fn update_of_a_job(w: &World) -> (SignedActionHashed, Entry) {
        let original = w.posted_job();
        let original_entry = must_get_valid_record(original.clone()).unwrap().action().entry_hash().unwrap().clone();
        let entry = Entry::try_from(&EntryTypes::Job(Job { trace_id: "trace-2".into(), ..job() })).unwrap();
        let data = ActionData::Update(UpdateData {
            original_action_address: original,
            original_entry_address: original_entry,
            entry_type: EntryType::try_from(&EntryTypes::Job(job())).unwrap(),
            entry_hash: EntryHash::with_data_sync(&entry),
        });
        (w.hdi.author_action(&w.requester, at(1_000), data), entry)
    }

    #[test]
    fn rejects_an_update() {
        let w = world();
        let (update, entry) = update_of_a_job(&w);
        let record = Record::new(update.clone(), RecordEntry::Present(entry.clone()));
        for op in [store_record_op(record), store_entry_op(update, entry)] {
            match validate(op) {
                Ok(ValidateCallbackResult::Invalid(reason)) => assert!(reason.contains("does not allow"), "{reason}"),
                other => panic!("expected Invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn agent_activity_rejects_an_update_and_accepts_a_create() {
        let w = world();
        let (update, entry) = update_of_a_job(&w);
        match validate(agent_activity_op(update, Some(entry))) {
            Ok(ValidateCallbackResult::Invalid(reason)) => assert!(reason.contains("append-only"), "{reason}"),
            other => panic!("expected Invalid, got {other:?}"),
        }
        let create = w.hdi.typed_entry_record(&w.requester, &EntryTypes::Job(job()), at(2_000));
        assert_eq!(validate(agent_activity_op_from_record(&create)), Ok(ValidateCallbackResult::Valid));
    }
}

// --- link types -----------------------------------------------------------------------------

/// One link type with everything needed to write it validly, and what its rules say.
struct LinkCase {
    link: LinkTypes,
    /// Who may write it: the target's author.
    author: TestAgent,
    /// Empty but for OpenJobBucket (the closing time).
    tag: LinkTag,
    base: AnyLinkableHash,
    target: ActionHash,
    /// The type name the zome uses in its messages.
    what: &'static str,
    /// A base this link may not start at, and what the rejection says.
    wrong_base: AnyLinkableHash,
    base_rule: &'static str,
    /// A stored record of another type.
    other_type: ActionHash,
}

/// A world holding one valid record of every type, and a case for every link type.
fn link_cases() -> (World, Vec<LinkCase>) {
    let w = world();
    let job = w.store(&w.requester, EntryTypes::Job(open_job()), 0);
    let assignment = w.store(&w.requester, EntryTypes::Assignment(assignment(&job, &w.worker)), 1_000);
    let result = w.store(&w.worker, EntryTypes::JobResult(job_result(&assignment, &job)), 2_000);
    let claim = w.store(&w.stranger, EntryTypes::Claim(claim(&job)), 3_000);
    let alloc = w.store(&w.requester, EntryTypes::Allocation(allocation(Some(&w.worker))), 4_000);
    let release = w.store(&w.requester, EntryTypes::AllocationRelease(release(&alloc)), 5_000);
    let accounting = w.store(&w.worker, EntryTypes::AccountingRecord(accounting(&job, &assignment, &w.worker)), 6_000);
    let anchor: AnyLinkableHash = all_jobs_anchor_hash().unwrap().into();
    let key = |agent: &TestAgent| AnyLinkableHash::from(agent.pub_key());
    let hash = |h: &ActionHash| AnyLinkableHash::from(h.clone());
    let open_jobs = |ms: i64| AnyLinkableHash::from(open_job_bucket_hash(open_job_bucket(at(ms))).unwrap());
    #[rustfmt::skip]
    let cases = vec![
        LinkCase { link: LinkTypes::AllJobs, tag: ().into(), author: w.requester.clone(), base: anchor.clone(), target: job.clone(), what: "Job",
                   wrong_base: hash(&job), base_rule: "must start at the all_jobs anchor", other_type: assignment.clone() },
        LinkCase { link: LinkTypes::JobToAssignments, tag: ().into(), author: w.requester.clone(), base: hash(&job), target: assignment.clone(), what: "Assignment",
                   wrong_base: key(&w.worker), base_rule: "must start at the assignment's job", other_type: job.clone() },
        LinkCase { link: LinkTypes::AssigneeToAssignments, tag: ().into(), author: w.requester.clone(), base: key(&w.worker), target: assignment.clone(), what: "Assignment",
                   wrong_base: key(&w.requester), base_rule: "must start at the assignee", other_type: job.clone() },
        LinkCase { link: LinkTypes::JobToResults, tag: ().into(), author: w.worker.clone(), base: hash(&job), target: result.clone(), what: "JobResult",
                   wrong_base: hash(&assignment), base_rule: "must start at the result's job", other_type: accounting.clone() },
        LinkCase { link: LinkTypes::JobToClaims, tag: ().into(), author: w.stranger.clone(), base: hash(&job), target: claim.clone(), what: "Claim",
                   wrong_base: anchor.clone(), base_rule: "must start at the claim's job", other_type: job.clone() },
        LinkCase { link: LinkTypes::AgentToAllocations, tag: ().into(), author: w.requester.clone(), base: key(&w.requester), target: alloc.clone(), what: "Allocation",
                   wrong_base: key(&w.stranger), base_rule: "must start at the allocation's requester or provider", other_type: job.clone() },
        LinkCase { link: LinkTypes::AllocationToReleases, tag: ().into(), author: w.requester.clone(), base: hash(&alloc), target: release.clone(), what: "AllocationRelease",
                   wrong_base: hash(&job), base_rule: "must start at the released allocation", other_type: alloc.clone() },
        LinkCase { link: LinkTypes::JobToAccounting, tag: ().into(), author: w.worker.clone(), base: hash(&job), target: accounting.clone(), what: "AccountingRecord",
                   wrong_base: hash(&assignment), base_rule: "must start at the record's job", other_type: result.clone() },
        LinkCase { link: LinkTypes::AgentToAccounting, tag: ().into(), author: w.worker.clone(), base: key(&w.worker), target: accounting.clone(), what: "AccountingRecord",
                   wrong_base: key(&w.requester), base_rule: "must start at the serving agent", other_type: result.clone() },
        // The open job (written at 0, a 60 s window) sits in the 10-minute period its window closes in, tagged with that time.
        LinkCase { link: LinkTypes::OpenJobBucket, tag: open_job_tag(at(60_000)), author: w.requester.clone(), base: open_jobs(60_000), target: job.clone(), what: "Job",
                   wrong_base: open_jobs(60_000 + 600_000), base_rule: "must start at the bucket of the period the job's claim window closes in", other_type: assignment.clone() },
    ];
    (w, cases)
}

fn link_case(link: LinkTypes) -> (World, LinkCase) {
    pick_case(link_cases(), link, |c| c.link)
}

#[test]
fn every_link_type_has_a_case() {
    assert_covers_every(link_cases().1.iter().map(|c| c.link), LinkTypes::iter(), "a link type has no test case");
}

impl World {
    /// Both ops of `author` creating a link of `c`'s type, with `c`'s tag, 10 s after T0.
    fn case_link(&self, c: &LinkCase, author: &TestAgent, base: AnyLinkableHash, target: AnyLinkableHash) -> [Op; 2] {
        self.tagged_link(author, c.link, base, target, c.tag.clone())
    }
}

fn link_valid(link: LinkTypes) {
    let (w, c) = link_case(link);
    expect_valid(w.case_link(&c, &c.author, c.base.clone(), c.target.clone().into()));
}

/// Wrong author: the target is someone else's record.
fn link_rejects_anothers_target(link: LinkTypes) {
    let (w, c) = link_case(link);
    let other = if c.author.key == w.stranger.key { &w.requester } else { &w.stranger };
    expect_invalid(w.case_link(&c, other, c.base.clone(), c.target.clone().into()), &["its author's own", c.what]);
}

fn link_rejects_wrong_base(link: LinkTypes) {
    let (w, c) = link_case(link);
    expect_invalid(w.case_link(&c, &c.author, c.wrong_base.clone(), c.target.clone().into()), &[c.base_rule]);
}

fn link_rejects_target_that_is_not_an_action(link: LinkTypes) {
    let (w, c) = link_case(link);
    let entry_hash = must_get_valid_record(c.target.clone()).unwrap().action().entry_hash().unwrap().clone();
    expect_invalid(w.case_link(&c, &c.author, c.base.clone(), entry_hash.into()), &["must point at a", c.what]);
}

fn link_rejects_target_of_another_type(link: LinkTypes) {
    let (w, c) = link_case(link);
    expect_invalid(w.case_link(&c, &c.author, c.base.clone(), c.other_type.clone().into()), &[&format!("not a {}", c.what)]);
}

fn link_dangling_target_is_unresolved(link: LinkTypes) {
    let (w, c) = link_case(link);
    w.hdi.remove(&c.target).expect("the target was stored");
    expect_unresolved(w.case_link(&c, &c.author, c.base.clone(), c.target.clone().into()), &c.target);
}

/// A link to a record the network rejected is judged like any other (type, author, base): readers
/// skip the invalid target when they fetch it (`linked_valid`). Requiring a valid target left such a
/// link pending on every node for good (the conductor answers UnresolvedDependencies and
/// re-validates it every few seconds): a rogue self-paid accounting record and its AgentToAccounting
/// link were a permanent cost to every honest node.
fn link_rejected_target_is_judged_by_readers(link: LinkTypes) {
    let (w, c) = link_case(link);
    let record = w.hdi.remove(&c.target).expect("the target was stored");
    w.hdi.store_rejected(record);
    expect_valid(w.case_link(&c, &c.author, c.base.clone(), c.target.clone().into()));
}

// A module per link type, with the seven tests above (`ripple_test_hdi::link_type_tests!`).
ripple_test_hdi::link_type_tests! {
    link_all_jobs => LinkTypes::AllJobs,
    link_job_to_assignments => LinkTypes::JobToAssignments,
    link_assignee_to_assignments => LinkTypes::AssigneeToAssignments,
    link_job_to_results => LinkTypes::JobToResults,
    link_job_to_claims => LinkTypes::JobToClaims,
    link_agent_to_allocations => LinkTypes::AgentToAllocations,
    link_allocation_to_releases => LinkTypes::AllocationToReleases,
    link_job_to_accounting => LinkTypes::JobToAccounting,
    link_agent_to_accounting => LinkTypes::AgentToAccounting,
    link_open_job_bucket => LinkTypes::OpenJobBucket,
}

mod link_open_job_bucket_rules {
    use super::*;

    const RULE: &str = "must start at the bucket of the period the job's claim window closes in";

    fn bucket_of(ms: i64) -> AnyLinkableHash {
        open_job_bucket_hash(open_job_bucket(at(ms))).unwrap().into()
    }

    /// A job its author assigns (claim window 0) is never open, so it is never in a bucket.
    #[test]
    fn rejects_an_assigned_job() {
        let w = world();
        let job = w.posted_job();
        expect_invalid(w.tagged_link(&w.requester, LinkTypes::OpenJobBucket, bucket_of(0), job.into(), open_job_tag(at(0))), &["must point at an open job (claim_window_ms > 0)"]);
    }

    /// Buckets are 10-minute periods of the closing time: T0 is 200 s into its period, so a job
    /// written at T0 whose window is 399.999 s closes in T0's period, one of 400 s in the next.
    #[test]
    fn bucket_follows_the_closing_time() {
        let w = world();
        assert_eq!(open_job_bucket(at(400_000)), open_job_bucket(at(399_999)) + 1, "the set-up crosses a period");
        assert_eq!(open_job_bucket(at(0)), open_job_bucket(at(399_999)));
        for (window, closes) in [(399_999, 399_999), (400_000, 400_000)] {
            let job = w.store(&w.requester, EntryTypes::Job(Job { claim_window_ms: window, ..job() }), 0);
            let link = |base| w.tagged_link(&w.requester, LinkTypes::OpenJobBucket, base, job.clone().into(), open_job_tag(at(closes)));
            expect_valid(link(bucket_of(closes)));
            let other = if window == 399_999 { bucket_of(400_000) } else { bucket_of(399_999) };
            expect_invalid(link(other), &[RULE]);
        }
    }

    #[test]
    fn rejects_other_bases() {
        let (w, c) = link_case(LinkTypes::OpenJobBucket);
        for base in [
            bucket_of(60_000 - 600_000),
            AnyLinkableHash::from(all_jobs_anchor_hash().unwrap()),
            AnyLinkableHash::from(w.requester.pub_key()),
            AnyLinkableHash::from(c.target.clone()),
        ] {
            expect_invalid(w.case_link(&c, &c.author, base, c.target.clone().into()), &[RULE]);
        }
    }

    /// The tag is the closing time to the microsecond, 8 bytes big-endian: a reader skips closed
    /// jobs by it, so a wrong one would hide an open job or make a closed one look open.
    #[test]
    fn rejects_a_tag_other_than_the_closing_time() {
        let (w, c) = link_case(LinkTypes::OpenJobBucket);
        let closes = at(60_000).as_micros();
        for tag in [
            LinkTag::new(Vec::<u8>::new()),
            LinkTag::new((closes + 1).to_be_bytes().to_vec()),
            LinkTag::new((closes - 1).to_be_bytes().to_vec()),
            LinkTag::new(closes.to_le_bytes().to_vec()),
            LinkTag::new([closes.to_be_bytes().to_vec(), vec![0]].concat()),
            LinkTag::new(vec![0xff; 512]),
        ] {
            expect_invalid(w.tagged_link(&c.author, c.link, c.base.clone(), c.target.clone().into(), tag), &["an OpenJobBucket tag must be the time the job's claim window closes"]);
        }
    }

    #[test]
    fn tag_round_trips() {
        let closes = at(60_000);
        assert_eq!(open_job_tag_closes(&open_job_tag(closes)), Some(closes));
        assert_eq!(open_job_tag_closes(&LinkTag::new(vec![1, 2, 3])), None);
    }
}

/// The provider named by an allocation may link it too (the other base AgentToAllocations allows).
#[test]
fn link_agent_to_allocations_from_the_provider() {
    let (w, c) = link_case(LinkTypes::AgentToAllocations);
    expect_valid(w.link(&c.author, c.link, w.worker.pub_key().into(), c.target.into()));
}

/// serde ignores unknown fields, so an `Assignment` ({job, assignee, slot, epoch}) deserializes as
/// a `Claim` ({job, slot}); `must_get_typed_record` also checks the record's entry type, so a job's
/// author cannot pass off an Assignment as a claim.
#[test]
fn link_job_to_claims_rejects_an_assignment_posing_as_a_claim() {
    let (w, c) = link_case(LinkTypes::JobToClaims);
    let job = c.base.clone().into_action_hash().unwrap();
    // Valid in itself: the job's author assigns its own job.
    let own_assignment = w.store(&w.requester, EntryTypes::Assignment(assignment(&job, &w.worker)), 7_000);
    expect_invalid(w.link(&w.requester, c.link, c.base, own_assignment.into()), &["not a Claim"]);
}

// --- unknown fields and tags ----------------------------------------------------------------

/// Every entry type denies unknown fields: otherwise extra data of any size would ride past
/// the length limits (validation sees only known fields; the DHT stores the whole entry).
#[test]
fn rejects_a_job_with_unknown_fields() {
    let w = world();
    // The job plus a 100 kB field `Job` does not have.
    let ops = w.hdi.create_entry_ops_as(&w.requester, UnitEntryTypes::Job, padded_entry(&job()), at(0));
    expect_invalid(ops, &["does not match its declared type"]);
}

/// None of resource_mesh's links carries a tag, but OpenJobBucket (its closing time: see above).
#[test]
fn links_reject_a_tag() {
    for link in LinkTypes::iter().filter(|l| *l != LinkTypes::OpenJobBucket) {
        let (w, c) = link_case(link);
        let ops = w.tagged_link(&c.author, c.link, c.base, AnyLinkableHash::from(c.target), LinkTag::new(vec![0xff; 512]));
        expect_invalid(ops, &["carries no tag"]);
    }
}
