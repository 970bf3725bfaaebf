//! Small shared checks for field bounds and for records an entry points at.
use hdi::prelude::*;

pub fn invalid(reason: impl Into<String>) -> ExternResult<ValidateCallbackResult> {
    Ok(ValidateCallbackResult::Invalid(reason.into()))
}

/// `Some(reason)` when `value` is not 1..=max bytes long.
pub fn bad_len(field: &str, value: &str, max: usize) -> Option<String> {
    (value.is_empty() || value.len() > max).then(|| format!("{field} must be 1..={max} bytes, got {}", value.len()))
}

/// `Some(reason)` unless exactly one of an inline value and a CID is given, each within bounds.
pub fn bad_inline_or_cid(field: &str, inline: &Option<String>, cid: &Option<String>, max_inline: usize) -> Option<String> {
    match (inline, cid) {
        (Some(text), None) => (text.len() > max_inline).then(|| format!("{field}_inline must be at most {max_inline} bytes (larger content goes to IPFS by CID)")),
        (None, Some(cid)) => bad_len(&format!("{field}_cid"), cid, MAX_CID_LEN),
        _ => Some(format!("exactly one of {field}_inline and {field}_cid must be set")),
    }
}

pub fn is_hex_sha256(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub const MAX_CID_LEN: usize = 128;

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
