//! Lookup indexes: by CID, name, kind and job, and a CID's providers. Each link points at a valid
//! record of its author and starts at the index entry that record's own fields name.
use crate::{UnitEntryTypes, Artifact, ProviderRecord};
use hdi::prelude::*;
use ripple_integrity_common::*;

pub fn cid_index_hash(cid: &str) -> ExternResult<EntryHash> {
    path_hash(&["cid", cid])
}
pub fn name_index_hash(name: &str) -> ExternResult<EntryHash> {
    path_hash(&["name", name])
}
pub fn kind_index_hash(kind: &str) -> ExternResult<EntryHash> {
    path_hash(&["kind", kind])
}
pub fn providers_index_hash(cid: &str) -> ExternResult<EntryHash> {
    path_hash(&["providers", cid])
}

fn artifact_link(
    action: &TypedAction<CreateLinkData>,
    expected_base: impl Fn(&Artifact) -> ExternResult<Option<AnyLinkableHash>>,
    base_rule: &str,
) -> ExternResult<ValidateCallbackResult> {
    let artifact = match own_link_target::<Artifact, _>(action, UnitEntryTypes::Artifact)? {
        Ok((_, artifact)) => artifact,
        Err(reason) => return invalid(reason),
    };
    let wrong_base = expected_base(&artifact)?.as_ref() != Some(&action.base_address);
    verdict(bad_tag(action).or_else(|| wrong_base.then(|| base_rule.to_string())))
}

pub fn validate_cid_to_artifacts_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    artifact_link(action, |a| Ok(Some(cid_index_hash(&a.cid)?.into())), "a CidToArtifacts link must start at the artifact's CID index")
}

pub fn validate_name_to_artifacts_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    artifact_link(action, |a| Ok(Some(name_index_hash(&a.name)?.into())), "a NameToArtifacts link must start at the artifact's name index")
}

pub fn validate_kind_to_artifacts_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    artifact_link(action, |a| Ok(Some(kind_index_hash(&a.kind)?.into())), "a KindToArtifacts link must start at the artifact's kind index")
}

pub fn validate_job_to_artifacts_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    artifact_link(action, |a| Ok(a.provenance.job.clone().map(Into::into)), "a JobToArtifacts link must start at the job named in the artifact's provenance")
}

pub fn validate_cid_to_providers_link(action: &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult> {
    verdict(match own_link_target::<ProviderRecord, _>(action, UnitEntryTypes::ProviderRecord)? {
        Ok((_, p)) => bad_tag(action).or((AnyLinkableHash::from(providers_index_hash(&p.cid)?) != action.base_address)
            .then(|| "a CidToProviders link must start at the provider record's CID".to_string())),
        Err(reason) => Some(reason),
    })
}
