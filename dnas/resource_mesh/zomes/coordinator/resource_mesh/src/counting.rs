//! The rules that decide what counts, computed the same way on every node from the same records:
//! - per slot, the current assignment is the one with the highest epoch (ties: lowest action hash);
//!   only a result that references the current assignment counts, one per slot (lowest hash);
//! - per slot of an open job, the winning claim has the lowest `claim_rank`;
//! - an agent's accounting counts one record per counted result it wrote (lowest hash), never for
//!   a superseded epoch and never for a job the agent authored (self-assigned work).
use crate::{get_assignments, get_claims, get_job_results};
use hdk::prelude::*;
use resource_mesh_integrity::*;
use ripple_coordinator_common::{get_valid, linked_valid, Found};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Serialize, Deserialize, Debug)]
pub struct SlotInput {
    pub job: ActionHash,
    pub slot: u32,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct ClaimWinner {
    pub claimant: AgentPubKey,
    pub claim: ActionHash,
    /// Every valid claimant this node saw, best rank first.
    pub ranked: Vec<AgentPubKey>,
}

/// The tie-break key of a claim (lower wins): blake2b-256 over job ‖ slot ‖ claimant. It does not
/// depend on timing or arrival order, and a claimant cannot choose it without a new agent key.
pub fn claim_rank(job: &ActionHash, slot: u32, claimant: &AgentPubKey) -> Vec<u8> {
    holo_hash::encode::blake2b_256(&[job.get_raw_39(), &slot.to_be_bytes(), claimant.get_raw_39()].concat())
}

#[hdk_extern]
pub fn get_claim_winner(input: SlotInput) -> ExternResult<Option<ClaimWinner>> {
    let mut claims: Vec<(Vec<u8>, Found<Claim>)> = get_claims(input.job.clone())?
        .into_iter()
        .filter(|c| c.entry.slot == input.slot)
        .map(|c| (claim_rank(&input.job, input.slot, &c.author), c))
        .collect();
    claims.sort_by(|a, b| a.0.cmp(&b.0));
    claims.dedup_by(|a, b| a.1.author == b.1.author);
    let ranked: Vec<AgentPubKey> = claims.iter().map(|(_, c)| c.author.clone()).collect();
    Ok(claims.into_iter().next().map(|(_, best)| ClaimWinner { claimant: best.author, claim: best.action_hash, ranked }))
}

/// The current assignment of each slot of the job.
#[hdk_extern]
pub fn get_current_assignments(job: ActionHash) -> ExternResult<Vec<Found<Assignment>>> {
    let mut current: BTreeMap<u32, Found<Assignment>> = BTreeMap::new();
    for a in get_assignments(job)? {
        let replace = match current.get(&a.entry.slot) {
            None => true,
            Some(held) => (a.entry.epoch, std::cmp::Reverse(a.action_hash.get_raw_39())) > (held.entry.epoch, std::cmp::Reverse(held.action_hash.get_raw_39())),
        };
        if replace {
            current.insert(a.entry.slot, a);
        }
    }
    Ok(current.into_values().collect())
}

/// At most one result per slot: one written against the slot's current assignment.
/// Results for superseded epochs (a late worker) are not counted.
#[hdk_extern]
pub fn get_counted_results(job: ActionHash) -> ExternResult<Vec<Found<JobResult>>> {
    let current = get_current_assignments(job.clone())?;
    let mut results = get_job_results(job)?;
    results.sort_by(|a, b| a.action_hash.get_raw_39().cmp(b.action_hash.get_raw_39()));
    Ok(current
        .iter()
        .filter_map(|assignment| {
            results.iter().find(|r| r.entry.assignment == assignment.action_hash && r.author == assignment.entry.assignee).cloned()
        })
        .collect())
}

#[derive(Serialize, Deserialize, Debug)]
pub struct AgentTotals {
    pub agent: AgentPubKey,
    pub records: u64,
    pub tokens: u64,
    pub served_ms: u64,
}

/// Totals served by `agent`, as every node counts them from the same records: one accounting
/// record per assignment (the lowest hash when a retry wrote two), and only for an assignment whose
/// result the job counts (the slot's current epoch) on a job someone else authored.
#[hdk_extern]
pub fn get_agent_totals(agent: AgentPubKey) -> ExternResult<AgentTotals> {
    let mut records: Vec<Found<AccountingRecord>> = linked_valid::<AccountingRecord>(agent.clone(), LinkTypes::AgentToAccounting)?
        .into_iter()
        .filter(|r| r.entry.agent == agent && r.author == agent)
        .collect();
    records.sort_by(|a, b| a.action_hash.get_raw_39().cmp(b.action_hash.get_raw_39()));
    let mut seen = BTreeSet::new();
    let mut counted_by_job: BTreeMap<ActionHash, Vec<ActionHash>> = BTreeMap::new();
    let mut totals = AgentTotals { agent: agent.clone(), records: 0, tokens: 0, served_ms: 0 };
    for record in records {
        if !seen.insert(record.entry.assignment.clone()) {
            continue;
        }
        let job = record.entry.job.clone();
        if !counted_by_job.contains_key(&job) {
            let counted = counted_assignments_of(job.clone(), &agent)?;
            counted_by_job.insert(job.clone(), counted);
        }
        if counted_by_job[&job].contains(&record.entry.assignment) {
            totals.records += 1;
            totals.tokens = totals.tokens.saturating_add(record.entry.tokens);
            totals.served_ms = totals.served_ms.saturating_add(record.entry.served_ms);
        }
    }
    Ok(totals)
}

/// The assignments of `job` whose counted result `agent` wrote; none if `agent` authored the job.
fn counted_assignments_of(job: ActionHash, agent: &AgentPubKey) -> ExternResult<Vec<ActionHash>> {
    let Some(found) = get_valid::<Job>(job.clone())? else { return Ok(vec![]) };
    if &found.author == agent {
        return Ok(vec![]);
    }
    Ok(get_counted_results(job)?.into_iter().filter(|r| &r.author == agent).map(|r| r.entry.assignment).collect())
}
