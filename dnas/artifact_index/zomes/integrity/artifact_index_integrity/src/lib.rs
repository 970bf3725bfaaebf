//! Integrity zome of `artifact_index`: which content exists in IPFS, where it came from, and who
//! serves it. Deny by default: an op not recognised here is invalid.
use hdi::prelude::*;
use ripple_integrity_common::validate_op;

mod artifact;
mod links;
mod provider_record;

pub use artifact::*;
pub use links::*;
pub use provider_record::*;

#[derive(Serialize, Deserialize)]
#[serde(tag = "type")]
#[hdk_entry_types]
#[unit_enum(UnitEntryTypes)]
pub enum EntryTypes {
    Artifact(Artifact),
    ProviderRecord(ProviderRecord),
}

#[derive(Serialize, Deserialize)]
#[hdk_link_types]
pub enum LinkTypes {
    CidToArtifacts,
    NameToArtifacts,
    KindToArtifacts,
    /// resource_mesh job (action hash) → artifacts it produced.
    JobToArtifacts,
    CidToProviders,
}

#[hdk_extern]
pub fn genesis_self_check(_data: GenesisSelfCheckData) -> ExternResult<ValidateCallbackResult> {
    Ok(ValidateCallbackResult::Valid)
}

fn validate_create_entry(author: &AgentPubKey, _at: Timestamp, entry: EntryTypes) -> ExternResult<ValidateCallbackResult> {
    match entry {
        EntryTypes::Artifact(artifact) => validate_create_artifact(author, &artifact),
        EntryTypes::ProviderRecord(provider) => validate_create_provider_record(author, &provider),
    }
}

fn validate_create_link(link_type: LinkTypes, action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    match link_type {
        LinkTypes::CidToArtifacts => validate_cid_to_artifacts_link(action),
        LinkTypes::NameToArtifacts => validate_name_to_artifacts_link(action),
        LinkTypes::KindToArtifacts => validate_kind_to_artifacts_link(action),
        LinkTypes::JobToArtifacts => validate_job_to_artifacts_link(action),
        LinkTypes::CidToProviders => validate_cid_to_providers_link(action),
    }
}

#[hdk_extern]
pub fn validate(op: Op) -> ExternResult<ValidateCallbackResult> {
    validate_op::<EntryTypes, LinkTypes>("artifact_index", &op, validate_create_entry, validate_create_link)
}
