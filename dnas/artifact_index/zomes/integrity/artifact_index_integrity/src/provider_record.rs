//! `ProviderRecord`: "I pin this CID and will serve it". Written only by that agent. Whether the
//! agent really pins it is checked by the readers that fetch from it (not trusted from the DHT).
use hdi::prelude::*;
use ripple_integrity_common::*;

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderRecord {
    pub cid: String,
    pub agent: AgentPubKey,
}

pub fn validate_create_provider_record(author: &AgentPubKey, p: &ProviderRecord) -> ExternResult<ValidateCallbackResult> {
    if &p.agent != author {
        return invalid("a ProviderRecord can only be written by the agent that pins the CID");
    }
    verdict(bad_label("cid", &p.cid, MAX_CID_LEN))
}
