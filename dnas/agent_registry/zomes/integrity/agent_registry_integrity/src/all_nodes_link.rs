//! `AllNodes` links: the `all_nodes` anchor → a capability record of the link's author.
use crate::{invalid, NodeCapability};
use hdi::prelude::*;

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
    // A missing target is retried by the conductor rather than judged invalid.
    let record = must_get_valid_record(target)?;
    if record.action().author() != action.author() {
        return invalid("an AllNodes link may only point at its author's own capability");
    }
    match record.entry().to_app_option::<NodeCapability>() {
        Ok(Some(_)) => Ok(ValidateCallbackResult::Valid),
        _ => invalid("an AllNodes link must point at a NodeCapability record"),
    }
}

