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

mod job;

mod assignment;

mod job_result;

mod claim;

mod allocation;

mod allocation_release;

mod accounting_record;

/// Updates and deletes are not part of this DNA.
mod append_only;

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

mod link_open_job_bucket_rules;

/// An author's conductor stamps its own actions: an entry or a link dated before 2020 or from 2200
/// on is refused (a time past 2^53 µs, the year 2255, is not a number JavaScript readers hold exactly).
#[test]
fn rejects_action_times_outside_2020_to_2200() {
    use ripple_integrity_common::{EARLIEST_ACTION_MICROS, LATEST_ACTION_MICROS};
    let (w, c) = link_case(LinkTypes::JobToAccounting);
    let ms_after_t0 = |micros: i64| (micros - T0_MICROS) / 1000;
    let job_at = |ms: i64| Job { deadline_ms: T0_MICROS / 1000 + ms + 600_000, ..job() };
    for ms in [ms_after_t0(EARLIEST_ACTION_MICROS) - 1, ms_after_t0(LATEST_ACTION_MICROS)] {
        expect_invalid(w.create(&w.requester, EntryTypes::Job(job_at(ms)), ms), &["action's time", "2020-01-01"]);
        expect_invalid(w.link_at(&c.author, c.link, c.base.clone(), c.target.clone().into(), c.tag.clone(), ms), &["action's time", "2200-01-01"]);
    }
    for ms in [ms_after_t0(EARLIEST_ACTION_MICROS), ms_after_t0(LATEST_ACTION_MICROS) - 1] {
        expect_valid(w.create(&w.requester, EntryTypes::Job(job_at(ms)), ms));
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
