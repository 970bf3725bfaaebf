//! Coordinator zome of `artifact_index`: register artifacts and provider records, and look them
//! up by CID, name, kind and job. Reads keep only validated records whose fields match the index.
use artifact_index_integrity::*;
use hdk::prelude::*;
use ripple_coordinator_common::*;

#[hdk_extern]
pub fn register_artifact(artifact: Artifact) -> ExternResult<ActionHash> {
    let (cid, name, kind, job) = (artifact.cid.clone(), artifact.name.clone(), artifact.kind.clone(), artifact.provenance.job.clone());
    let hash = create_entry(&EntryTypes::Artifact(artifact))?;
    create_link(cid_index_hash(&cid)?, hash.clone(), LinkTypes::CidToArtifacts, ())?;
    create_link(name_index_hash(&name)?, hash.clone(), LinkTypes::NameToArtifacts, ())?;
    create_link(kind_index_hash(&kind)?, hash.clone(), LinkTypes::KindToArtifacts, ())?;
    if let Some(job) = job {
        create_link(job, hash.clone(), LinkTypes::JobToArtifacts, ())?;
    }
    Ok(hash)
}

/// Announce that this agent pins `cid`.
#[hdk_extern]
pub fn add_provider(cid: String) -> ExternResult<ActionHash> {
    let record = ProviderRecord { cid: cid.clone(), agent: agent_info()?.agent_initial_pubkey };
    let hash = create_entry(&EntryTypes::ProviderRecord(record))?;
    create_link(providers_index_hash(&cid)?, hash.clone(), LinkTypes::CidToProviders, ())?;
    Ok(hash)
}

/// Artifacts linked from `base` that match `matches` and pass their own entry rules again on read
/// (see `entry_rules_hold`).
fn artifacts_at(base: impl Into<AnyLinkableHash>, link_type: LinkTypes, matches: impl Fn(&Artifact) -> bool) -> ExternResult<Vec<Found<Artifact>>> {
    linked_valid_where(base, link_type, |found: &Found<Artifact>| {
        Ok(matches(&found.entry) && entry_rules_hold(validate_create_artifact(&found.author, &found.entry))?)
    })
}

#[hdk_extern]
pub fn get_artifacts_by_cid(cid: String) -> ExternResult<Vec<Found<Artifact>>> {
    artifacts_at(cid_index_hash(&cid)?, LinkTypes::CidToArtifacts, |a| a.cid == cid)
}

#[hdk_extern]
pub fn get_artifacts_by_name(name: String) -> ExternResult<Vec<Found<Artifact>>> {
    artifacts_at(name_index_hash(&name)?, LinkTypes::NameToArtifacts, |a| a.name == name)
}

#[hdk_extern]
pub fn get_artifacts_by_kind(kind: String) -> ExternResult<Vec<Found<Artifact>>> {
    artifacts_at(kind_index_hash(&kind)?, LinkTypes::KindToArtifacts, |a| a.kind == kind)
}

#[hdk_extern]
pub fn get_artifacts_by_job(job: ActionHash) -> ExternResult<Vec<Found<Artifact>>> {
    artifacts_at(job.clone(), LinkTypes::JobToArtifacts, |a| a.provenance.job.as_ref() == Some(&job))
}

/// Agents that say they pin `cid`, each once (their newest record).
#[hdk_extern]
pub fn get_providers(cid: String) -> ExternResult<Vec<Found<ProviderRecord>>> {
    let mut providers: Vec<Found<ProviderRecord>> = Vec::new();
    for p in linked_valid::<ProviderRecord>(providers_index_hash(&cid)?, LinkTypes::CidToProviders)? {
        if p.entry.cid == cid && p.entry.agent == p.author && !providers.iter().any(|q| q.author == p.author) {
            providers.push(p);
        }
    }
    Ok(providers)
}

/// Diagnostic: how this node sees the record at `hash` (Valid / Rejected / Abandoned).
#[hdk_extern]
pub fn validation_status(hash: ActionHash) -> ExternResult<Option<ValidationStatus>> {
    validation_status_of(hash)
}
