//! `AllNodes` links: the `all_nodes` anchor → a capability record of the link's author.
use crate::NodeCapability;
use hdi::prelude::*;
use ripple_integrity_common::{invalid, must_get_typed_record};

pub const ALL_NODES_ANCHOR: &str = "all_nodes";

pub fn all_nodes_anchor_hash() -> ExternResult<EntryHash> {
    Path::from(ALL_NODES_ANCHOR).path_entry_hash()
}

pub fn validate_create_all_nodes_link(
    action: &TypedAction<CreateLinkData>,
) -> ExternResult<ValidateCallbackResult> {
    if action.base_address != all_nodes_anchor_hash()?.into() {
        return invalid("an AllNodes link must start at the all_nodes anchor");
    }
    if !action.tag.0.is_empty() {
        return invalid("an AllNodes link carries no tag");
    }
    let Some(target) = action.target_address.clone().into_action_hash() else {
        return invalid("an AllNodes link must point at a NodeCapability action");
    };
    match must_get_typed_record::<NodeCapability>(target, "NodeCapability")? {
        Ok((record, _)) if record.action().author() != action.author() => {
            invalid("an AllNodes link may only point at its author's own capability")
        }
        Ok(_) => Ok(ValidateCallbackResult::Valid),
        Err(reason) => invalid(format!("an AllNodes link must point at a NodeCapability record: {reason}")),
    }
}

