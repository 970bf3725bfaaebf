//! Validation helpers shared by Ripple Mesh's integrity zomes.
use hdi::prelude::*;

pub fn invalid(reason: impl Into<String>) -> ExternResult<ValidateCallbackResult> {
    Ok(ValidateCallbackResult::Invalid(reason.into()))
}

/// `Some(reason)` when `value` is not 1..=max bytes long.
pub fn bad_len(field: &str, value: &str, max: usize) -> Option<String> {
    (value.is_empty() || value.len() > max).then(|| format!("{field} must be 1..={max} bytes, got {}", value.len()))
}

/// Our DNAs are append-only: deny updates, deletes and chain migration in agent activity;
/// everything else there is judged by the entry and link ops themselves.
pub fn validate_append_only_activity<U, L>(dna: &str, activity: OpActivity<U, L>) -> ValidateCallbackResult {
    match activity {
        OpActivity::UpdateEntry { .. }
        | OpActivity::UpdatePrivateEntry { .. }
        | OpActivity::DeleteEntry { .. }
        | OpActivity::DeleteLink { .. }
        | OpActivity::OpenChain { .. }
        | OpActivity::CloseChain { .. } => ValidateCallbackResult::Invalid(format!(
            "{dna} records are append-only: no updates, deletes or chain migration"
        )),
        _ => ValidateCallbackResult::Valid,
    }
}

/// The valid record at `hash` and its entry as `T` (a missing record makes the conductor retry).
pub fn must_get_typed_record<T>(hash: ActionHash, what: &str) -> ExternResult<Result<(Record, T), String>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    let record = must_get_valid_record(hash)?;
    match record.entry().to_app_option::<T>() {
        Ok(Some(entry)) => Ok(Ok((record, entry))),
        _ => Ok(Err(format!("the referenced record is not a {what}"))),
    }
}
