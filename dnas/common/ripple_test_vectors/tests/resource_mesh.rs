//! resource_mesh vectors: every entry type (Job inline / by CID, JobResult inline / by CID,
//! Allocation with / without provider, …) and the coordinator's main inputs/outputs.
//! (One test binary per DNA: see the crate docs.)
use hdi::prelude::*;
use resource_mesh_integrity::*;
use ripple_test_vectors::*;

// SHA_MODEL, CID_MODEL, CID_OUTPUT and CID_PROMPT: the samples all three DNAs' vectors share.
const SHA_OUTPUT: &str = "9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab";

// --- mirrors of dnas/resource_mesh/zomes/coordinator/resource_mesh/src/{lib,counting}.rs -----

/// `resource_mesh::SlotInput`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct SlotInput {
    job: ActionHash,
    slot: u32,
}

/// `resource_mesh::ClaimWinner`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct ClaimWinner {
    claimant: AgentPubKey,
    claim: ActionHash,
    ranked: Vec<AgentPubKey>,
}

/// `resource_mesh::AllocationStatus`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct AllocationStatus {
    allocation: Found<Allocation>,
    released: bool,
    expired: bool,
}

/// `ripple_coordinator_common::ReadCost` (the diagnostic reads of both coordinators).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct ReadCost {
    link_queries: u32,
    links: u32,
    records: u32,
}

/// `resource_mesh::AgentTotals`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct AgentTotals {
    agent: AgentPubKey,
    records: u64,
    tokens: u64,
    served_ms: u64,
}

/// `resource_mesh::PostedResult`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct PostedResult {
    result: ActionHash,
    accounting: Option<ActionHash>,
}

// --- samples --------------------------------------------------------------------------------

fn job_inline() -> Job {
    Job {
        kind: "inference".into(),
        requirements: r#"{"model":"llama-3.1-8b-instruct","min_vram_gb":8}"#.into(),
        // Over 255 bytes: a msgpack str16.
        payload_inline: Some(format!(r#"{{"prompt":"{}","max_tokens":256}}"#, "Summarise the Ripple Mesh design in one paragraph. ".repeat(6))),
        payload_cid: None,
        deadline_ms: 1_767_225_900_000,
        moe_group: Some("moe-7f3a".into()),
        trace_id: "trace-0001".into(),
        claim_window_ms: 30_000,
    }
}

fn job_cid() -> Job {
    Job {
        kind: "compute".into(),
        requirements: "{}".into(),
        payload_inline: None,
        payload_cid: Some(CID_PROMPT.into()),
        deadline_ms: 1_767_229_200_000,
        moe_group: None,
        trace_id: "trace-0002".into(),
        claim_window_ms: 0,
    }
}

fn assignment() -> Assignment {
    Assignment { job: action(0x21), assignee: agent(0x11), slot: 3, epoch: 2 }
}

fn job_result_inline() -> JobResult {
    JobResult {
        assignment: action(0x22),
        job: action(0x21),
        output_inline: Some("The capital of France is Paris.".into()),
        output_cid: None,
        response_hash: SHA_OUTPUT.into(),
        tokens: 512,
        latency_ms: 1_234,
        model: SHA_MODEL.into(),
    }
}

fn job_result_cid() -> JobResult {
    JobResult {
        assignment: action(0x22),
        job: action(0x21),
        output_inline: None,
        output_cid: Some(CID_OUTPUT.into()),
        response_hash: SHA_OUTPUT.into(),
        tokens: 70_000,
        latency_ms: 250,
        model: CID_MODEL.into(),
    }
}

fn claim() -> Claim {
    Claim { job: action(0x21), slot: 0 }
}

fn allocation_with_provider() -> Allocation {
    Allocation {
        resource_type: "gpu".into(),
        requirements: r#"{"memory_gb":16,"model":"llama-3.1-8b-instruct"}"#.into(),
        locality_preference: Some("same-region".into()),
        duration_seconds: 3_600,
        expires_at_ms: 1_767_229_200_000,
        provider: Some(agent(0x11)),
    }
}

fn allocation_no_provider() -> Allocation {
    Allocation {
        resource_type: "storage".into(),
        requirements: r#"{"gb":100}"#.into(),
        locality_preference: None,
        duration_seconds: 604_800,
        expires_at_ms: 1_767_830_400_000,
        provider: None,
    }
}

fn allocation_release() -> AllocationRelease {
    AllocationRelease { allocation: action(0x23), reason: "job finished".into() }
}

fn accounting_record() -> AccountingRecord {
    AccountingRecord { job: action(0x21), assignment: action(0x22), agent: agent(0x11), tokens: 70_000, served_ms: 1_234 }
}

#[test]
fn resource_mesh_vectors_match_committed_files() {
    check_or_write(
        RESOURCE_MESH,
        &[
            ("job_inline", entry_bytes(EntryTypes::Job, job_inline())),
            ("job_cid", entry_bytes(EntryTypes::Job, job_cid())),
            ("assignment", entry_bytes(EntryTypes::Assignment, assignment())),
            ("job_result_inline", entry_bytes(EntryTypes::JobResult, job_result_inline())),
            ("job_result_cid", entry_bytes(EntryTypes::JobResult, job_result_cid())),
            ("claim", entry_bytes(EntryTypes::Claim, claim())),
            ("allocation_with_provider", entry_bytes(EntryTypes::Allocation, allocation_with_provider())),
            ("allocation_no_provider", entry_bytes(EntryTypes::Allocation, allocation_no_provider())),
            ("allocation_release", entry_bytes(EntryTypes::AllocationRelease, allocation_release())),
            ("accounting_record", entry_bytes(EntryTypes::AccountingRecord, accounting_record())),
            ("found_job", extern_bytes(&found(0x21, 0x10, 0, job_inline()))),
            ("slot_input", extern_bytes(&SlotInput { job: action(0x21), slot: 3 })),
            ("claim_winner", extern_bytes(&ClaimWinner { claimant: agent(0x12), claim: action(0x24), ranked: vec![agent(0x12), agent(0x11)] })),
            (
                "allocation_status",
                extern_bytes(&AllocationStatus { allocation: found(0x23, 0x10, 5_000, allocation_with_provider()), released: false, expired: true }),
            ),
            ("agent_totals", extern_bytes(&AgentTotals { agent: agent(0x11), records: 3, tokens: 123_456, served_ms: 5_000_000_000 })),
            ("posted_result", extern_bytes(&PostedResult { result: action(0x25), accounting: Some(action(0x26)) })),
            ("posted_result_own_job", extern_bytes(&PostedResult { result: action(0x25), accounting: None })),
            ("read_cost", extern_bytes(&ReadCost { link_queries: 11, links: 300, records: 2 })),
            ("action_hash", extern_bytes(&action(0x21))),
        ],
    );
}

#[test]
fn every_resource_mesh_entry_type_has_a_vector() {
    assert_every_entry_type_has_a_vector("resource_mesh_integrity", EntryTypes::unit_iter());
}
