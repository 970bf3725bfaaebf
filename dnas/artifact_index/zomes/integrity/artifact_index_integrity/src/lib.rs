//! Integrity zome of `artifact_index`: which content exists in IPFS, where it came from, and who
//! serves it. Deny by default: an op not recognised here is invalid.
use hdi::prelude::*;
use ripple_integrity_common::{not_allowed, validate_append_only_activity};

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

fn validate_create_entry(author: &AgentPubKey, entry: EntryTypes) -> ExternResult<ValidateCallbackResult> {
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
    // An entry that does not deserialize as its declared type (e.g. an unknown field: every
    // entry type denies them, or extra data would ride past the length limits) is invalid.
    let flat = match op.flattened::<EntryTypes, LinkTypes>() {
        Ok(flat) => flat,
        Err(e) => return Ok(ValidateCallbackResult::Invalid(format!("the op does not match its declared type: {e:?}"))),
    };
    match flat {
        FlatOp::CreateEntry(OpEntry::CreateEntry { app_entry, action }) => validate_create_entry(action.author(), app_entry),
        FlatOp::CreateRecord(OpRecord::CreateEntry { app_entry, action }) => validate_create_entry(action.author(), app_entry),
        FlatOp::Link(OpLink::CreateLink { link_type, action })
        | FlatOp::CreateRecord(OpRecord::CreateLink { link_type, action }) => validate_create_link(link_type, &action),
        FlatOp::AgentActivity(activity) => Ok(validate_append_only_activity("artifact_index", activity)),
        FlatOp::CreateEntry(OpEntry::CreateAgent { .. })
        | FlatOp::CreateRecord(OpRecord::CreateAgent { .. })
        | FlatOp::CreateRecord(OpRecord::Dna { .. })
        | FlatOp::CreateRecord(OpRecord::AgentValidationPkg { .. })
        | FlatOp::CreateRecord(OpRecord::InitZomesComplete { .. })
        | FlatOp::CreateEntry(OpEntry::CreateCapGrant { .. })
        | FlatOp::CreateRecord(OpRecord::CreateCapGrant { .. }) => Ok(ValidateCallbackResult::Valid),
        other => not_allowed("artifact_index", other),
    }
}
