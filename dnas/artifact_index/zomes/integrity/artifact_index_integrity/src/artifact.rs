//! `Artifact`: content in IPFS (a model, a job output, a prompt, a bundle) with its provenance.
//! The registering agent must be the author; sizes and strings are bounded.
use hdi::prelude::*;
use ripple_integrity_common::*;

pub const ARTIFACT_KINDS: [&str; 4] = ["model", "output", "prompt", "bundle"];
pub const MAX_ARTIFACT_NAME_LEN: usize = 256;
pub const MAX_MIME_LEN: usize = 128;
pub const MAX_PARENTS: usize = 32;
/// 1 TiB: larger than any GGUF we expect, small enough to catch nonsense.
pub const MAX_ARTIFACT_SIZE: u64 = 1 << 40;

#[derive(Serialize, Deserialize, SerializedBytes, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The resource_mesh job that produced it (an action hash in that DNA), if any.
    pub job: Option<ActionHash>,
    /// sha256 or CID of the model that produced it, if any.
    pub model: Option<String>,
    /// The agent that produced and registered it; must be the author.
    pub agent: AgentPubKey,
    /// CIDs it was derived from (a prompt, an earlier output, a model's parts).
    pub parent_cids: Vec<String>,
}

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub cid: String,
    pub name: String,
    pub kind: String,
    pub size: u64,
    /// sha256 (lowercase hex) of the content bytes.
    pub sha256: String,
    pub mime: String,
    pub provenance: Provenance,
}

pub fn validate_create_artifact(author: &AgentPubKey, a: &Artifact) -> ExternResult<ValidateCallbackResult> {
    if &a.provenance.agent != author {
        return invalid("an Artifact's provenance.agent must be the agent registering it");
    }
    verdict(
        bad_label("cid", &a.cid, MAX_CID_LEN)
            .or_else(|| bad_label("name", &a.name, MAX_ARTIFACT_NAME_LEN))
            .or_else(|| not_one_of("kind", &a.kind, &ARTIFACT_KINDS))
            .or_else(|| bad_u64("size", a.size, 0, MAX_ARTIFACT_SIZE))
            .or_else(|| bad_sha256("sha256", &a.sha256))
            .or_else(|| bad_label("mime", &a.mime, MAX_MIME_LEN))
            .or_else(|| bad_optional_label("provenance.model", &a.provenance.model, MAX_CID_LEN))
            .or_else(|| too_many("provenance.parent_cids", &a.provenance.parent_cids, MAX_PARENTS))
            .or_else(|| a.provenance.parent_cids.iter().find_map(|c| bad_label("provenance.parent_cids[]", c, MAX_CID_LEN))),
    )
}
