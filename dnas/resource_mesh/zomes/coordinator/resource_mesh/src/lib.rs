//! Coordinator zome of `resource_mesh`: post jobs, assign or claim them, post results, allocate
//! resources, account for work, and read all of it back. Reads keep only records the network
//! validated (ripple_coordinator_common); "counted" reads apply the epoch and tie-break rules.
use hdk::prelude::*;
use resource_mesh_integrity::*;
use ripple_coordinator_common::*;

mod counting;
mod result_writes;
pub use counting::*;
pub use result_writes::*;

#[hdk_extern]
pub fn create_job(job: Job) -> ExternResult<ActionHash> {
    write_job(job)
}

#[hdk_extern]
pub fn assign_job(assignment: Assignment) -> ExternResult<ActionHash> {
    write_assignment(assignment)
}

/// One slot's first assignee, for `post_assigned_job`.
#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct SlotAssignee {
    pub slot: u32,
    pub assignee: AgentPubKey,
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct AssignedJobInput {
    pub job: Job,
    pub slots: Vec<SlotAssignee>,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct PostedJob {
    pub job: ActionHash,
    /// The epoch-1 assignments, in the order of the input's slots.
    pub assignments: Vec<ActionHash>,
}

/// A job and the first assignment of each of its slots in one commit: one source-chain write
/// instead of 1 + slots, which is most of an MOE job's start-up time.
#[hdk_extern]
pub fn post_assigned_job(input: AssignedJobInput) -> ExternResult<PostedJob> {
    if input.slots.len() > MAX_SLOT as usize {
        return Err(wasm_error!(WasmErrorInner::Guest(format!("at most {MAX_SLOT} slots per job, got {}", input.slots.len()))));
    }
    let job = write_job(input.job)?;
    let assignments = input
        .slots
        .into_iter()
        .map(|s| write_assignment(Assignment { job: job.clone(), assignee: s.assignee, slot: s.slot, epoch: 1 }))
        .collect::<ExternResult<Vec<_>>>()?;
    Ok(PostedJob { job, assignments })
}

fn write_job(job: Job) -> ExternResult<ActionHash> {
    let open = job.claim_window_ms > 0;
    let hash = create_entry(&EntryTypes::Job(job.clone()))?;
    create_link(all_jobs_anchor_hash()?, hash.clone(), LinkTypes::AllJobs, ())?;
    if open {
        // The bucket follows the job's own action timestamp.
        let Some(record) = get(hash.clone(), GetOptions::local())? else {
            return Err(wasm_error!(WasmErrorInner::Guest("the job just written is missing from the source chain".into())));
        };
        let closes = claim_window_closes(record.action().timestamp(), &job);
        create_link(open_job_bucket_hash(open_job_bucket(closes))?, hash.clone(), LinkTypes::OpenJobBucket, open_job_tag(closes))?;
    }
    Ok(hash)
}

fn write_assignment(assignment: Assignment) -> ExternResult<ActionHash> {
    let (job, assignee) = (assignment.job.clone(), assignment.assignee.clone());
    let hash = create_entry(&EntryTypes::Assignment(assignment))?;
    create_link(job, hash.clone(), LinkTypes::JobToAssignments, ())?;
    create_link(assignee, hash.clone(), LinkTypes::AssigneeToAssignments, ())?;
    Ok(hash)
}

/// Idempotent: a retry returns the result this agent already wrote for the assignment.
#[hdk_extern]
pub fn post_result(result: JobResult) -> ExternResult<ActionHash> {
    post_result_once(result)
}

/// A worker's result and its accounting record (none for the agent's own job) in one commit;
/// idempotent like `post_result`. What the node's result writer calls.
#[hdk_extern]
pub fn post_result_and_accounting(result: JobResult) -> ExternResult<PostedResult> {
    post_result_and_accounting_once(result)
}

#[hdk_extern]
pub fn claim_job(claim: Claim) -> ExternResult<ActionHash> {
    let job = claim.job.clone();
    let hash = create_entry(&EntryTypes::Claim(claim))?;
    create_link(job, hash.clone(), LinkTypes::JobToClaims, ())?;
    Ok(hash)
}

#[hdk_extern]
pub fn allocate(allocation: Allocation) -> ExternResult<ActionHash> {
    let provider = allocation.provider.clone();
    let hash = create_entry(&EntryTypes::Allocation(allocation))?;
    create_link(agent_info()?.agent_initial_pubkey, hash.clone(), LinkTypes::AgentToAllocations, ())?;
    if let Some(provider) = provider {
        create_link(provider, hash.clone(), LinkTypes::AgentToAllocations, ())?;
    }
    Ok(hash)
}

#[hdk_extern]
pub fn release(release: AllocationRelease) -> ExternResult<ActionHash> {
    let allocation = release.allocation.clone();
    let hash = create_entry(&EntryTypes::AllocationRelease(release))?;
    create_link(allocation, hash.clone(), LinkTypes::AllocationToReleases, ())?;
    Ok(hash)
}

/// Idempotent: a retry returns the record this agent already wrote for the assignment.
#[hdk_extern]
pub fn record_accounting(record: AccountingRecord) -> ExternResult<ActionHash> {
    record_accounting_once(record)
}

#[hdk_extern]
pub fn get_job(job: ActionHash) -> ExternResult<Option<Found<Job>>> {
    get_valid(job)
}

#[hdk_extern]
pub fn list_jobs(_: ()) -> ExternResult<Vec<Found<Job>>> {
    linked_valid(all_jobs_anchor_hash()?, LinkTypes::AllJobs)
}

/// Open jobs (claim_window_ms > 0) whose claim window has not closed, newest first: what a worker
/// may claim, read every second by every worker. Only the open-job buckets of this 10-minute period
/// and the next are read, and only jobs whose tag says they are still open are fetched, so the cost
/// depends on the jobs open now (plus the links of those closed earlier in this period), never on
/// the job history.
#[hdk_extern]
pub fn list_open_jobs(_: ()) -> ExternResult<Vec<Found<Job>>> {
    let now = sys_time()?;
    let latest = Timestamp::from_micros(now.as_micros() + i64::from(MAX_CLAIM_WINDOW_MS) * 1000);
    let mut links = Vec::new();
    for bucket in open_job_bucket(now)..=open_job_bucket(latest) {
        links.extend(links_newest_first(open_job_bucket_hash(bucket)?, LinkTypes::OpenJobBucket)?);
    }
    sort_newest_first(&mut links);
    let mut open = Vec::new();
    for link in links {
        // The tag is only a hint (links are returned before validation): the record decides.
        if open_job_tag_closes(&link.tag).is_none_or(|closes| closes < now) {
            continue;
        }
        let Some(hash) = link.target.into_action_hash() else { continue };
        let Some(job) = get_valid::<Job>(hash)? else { continue };
        if job.entry.claim_window_ms > 0 && now <= claim_window_closes(job.timestamp, &job.entry) {
            open.push(job);
        }
    }
    Ok(open)
}

/// Diagnostic: what one `list_open_jobs` read touches (links and records), to check that it does
/// not grow with the job history.
#[hdk_extern]
pub fn list_open_jobs_read_cost(_: ()) -> ExternResult<ReadCost> {
    Ok(measure_reads(|| list_open_jobs(()))?.1)
}

/// The job's assignments written by the job's author (re-checked on read: see `entry_rules_hold`).
#[hdk_extern]
pub fn get_assignments(job: ActionHash) -> ExternResult<Vec<Found<Assignment>>> {
    let Some(job_record) = get_valid::<Job>(job.clone())? else { return Ok(vec![]) };
    Ok(linked_valid::<Assignment>(job.clone(), LinkTypes::JobToAssignments)?
        .into_iter()
        .filter(|a| a.entry.job == job && a.author == job_record.author)
        .collect())
}

/// An assignment and the job it assigns, as a worker checks them before it serves the slot.
#[derive(Serialize, Deserialize, Debug)]
pub struct AssignmentWithJob {
    pub assignment: Found<Assignment>,
    pub job: Found<Job>,
}

/// The assignment at `assignment` with its job, both validated, and only when the job's author wrote
/// the assignment (re-checked on read, as in `get_assignments`): `None` for any other hash, or
/// before both have reached this node.
#[hdk_extern]
pub fn get_assignment_with_job(assignment: ActionHash) -> ExternResult<Option<AssignmentWithJob>> {
    let Some(assignment) = get_valid::<Assignment>(assignment)? else { return Ok(None) };
    let Some(job) = get_valid::<Job>(assignment.entry.job.clone())? else { return Ok(None) };
    if job.author != assignment.author {
        return Ok(None);
    }
    Ok(Some(AssignmentWithJob { assignment, job }))
}

#[hdk_extern]
pub fn get_my_assignments(_: ()) -> ExternResult<Vec<Found<Assignment>>> {
    let me = agent_info()?.agent_initial_pubkey;
    Ok(linked_valid::<Assignment>(me.clone(), LinkTypes::AssigneeToAssignments)?.into_iter().filter(|a| a.entry.assignee == me).collect())
}

/// Every valid result linked to the job, counted or not (see `get_counted_results`): each written
/// by the assignee of one of the job's assignments (re-checked on read: see `entry_rules_hold`).
#[hdk_extern]
pub fn get_job_results(job: ActionHash) -> ExternResult<Vec<Found<JobResult>>> {
    let assignments = get_assignments(job.clone())?;
    Ok(linked_valid::<JobResult>(job.clone(), LinkTypes::JobToResults)?
        .into_iter()
        .filter(|r| r.entry.job == job && assignments.iter().any(|a| a.action_hash == r.entry.assignment && a.entry.assignee == r.author))
        .collect())
}

#[hdk_extern]
pub fn get_claims(job: ActionHash) -> ExternResult<Vec<Found<Claim>>> {
    Ok(linked_valid::<Claim>(job.clone(), LinkTypes::JobToClaims)?.into_iter().filter(|c| c.entry.job == job).collect())
}

/// This agent's allocations, as requester or provider, written within the last 8 days (any older
/// one has lapsed).
#[hdk_extern]
pub fn get_my_allocations(_: ()) -> ExternResult<Vec<AllocationStatus>> {
    let me = agent_info()?.agent_initial_pubkey;
    let now = sys_time()?;
    let now_ms = now.as_millis();
    // An allocation lapses at most MAX_ALLOCATION_SECONDS after it is written (the integrity zome
    // bounds expires_at_ms by its action time): links older than that, and a day, point at
    // allocations that are over, and are not read (each read would otherwise grow with them).
    let horizon_us = (i64::from(MAX_ALLOCATION_SECONDS) + 24 * 3600) * 1_000_000;
    let since = Timestamp::from_micros(now.as_micros().saturating_sub(horizon_us));
    let mut statuses = Vec::new();
    for allocation in linked_valid_since::<Allocation>(me.clone(), LinkTypes::AgentToAllocations, since)? {
        if allocation.author != me && allocation.entry.provider.as_ref() != Some(&me) {
            continue;
        }
        let releases = linked_valid::<AllocationRelease>(allocation.action_hash.clone(), LinkTypes::AllocationToReleases)?;
        let released = releases.iter().any(|r| r.entry.allocation == allocation.action_hash);
        let expired = now_ms >= allocation.entry.expires_at_ms;
        statuses.push(AllocationStatus { allocation, released, expired });
    }
    Ok(statuses)
}

#[hdk_extern]
pub fn get_job_accounting(job: ActionHash) -> ExternResult<Vec<Found<AccountingRecord>>> {
    Ok(linked_valid::<AccountingRecord>(job.clone(), LinkTypes::JobToAccounting)?.into_iter().filter(|r| r.entry.job == job).collect())
}


/// Diagnostic: how this node sees the record at `hash` (Valid / Rejected / Abandoned).
#[hdk_extern]
pub fn validation_status(hash: ActionHash) -> ExternResult<Option<ValidationStatus>> {
    validation_status_of(hash)
}

#[derive(Serialize, Deserialize, Debug)]
pub struct AllocationStatus {
    pub allocation: Found<Allocation>,
    pub released: bool,
    pub expired: bool,
}
