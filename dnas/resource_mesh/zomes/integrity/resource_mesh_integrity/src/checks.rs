//! Field checks specific to resource_mesh; the general ones come from ripple_integrity_common.
pub use ripple_integrity_common::{bad_len, invalid, must_get_typed_record};

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
