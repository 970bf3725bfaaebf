//! Validation helpers shared by Ripple Mesh's integrity zomes.
use hdi::prelude::*;

pub const MAX_CID_LEN: usize = 128;

pub fn invalid(reason: impl Into<String>) -> ExternResult<ValidateCallbackResult> {
    Ok(ValidateCallbackResult::Invalid(reason.into()))
}

/// `Valid` unless a check found a problem.
pub fn verdict(problem: Option<String>) -> ExternResult<ValidateCallbackResult> {
    match problem {
        Some(reason) => invalid(reason),
        None => Ok(ValidateCallbackResult::Valid),
    }
}

/// `Some(reason)` when `value` is not 1..=max bytes long.
pub fn bad_len(field: &str, value: &str, max: usize) -> Option<String> {
    (value.is_empty() || value.len() > max).then(|| format!("{field} must be 1..={max} bytes, got {}", value.len()))
}

/// `Some(reason)` when a label (a name people read: in terminals, logs and the UI) is not 1..=max
/// bytes long or holds a control character (U+0000..U+001F, U+007F..U+009F): an escape sequence in
/// a peer's name could rewrite what a reader's terminal shows.
pub fn bad_label(field: &str, value: &str, max: usize) -> Option<String> {
    bad_len(field, value, max).or_else(|| {
        value.chars().any(char::is_control).then(|| format!("{field} must not contain control characters (U+0000..U+001F, U+007F..U+009F)"))
    })
}

/// `Some(reason)` when an optional label is present but not a valid label (see [`bad_label`]).
pub fn bad_optional_label(field: &str, value: &Option<String>, max: usize) -> Option<String> {
    value.as_ref().and_then(|v| bad_label(field, v, max))
}

/// `Some(reason)` when `value` is not a finite number in `min..=max`.
pub fn bad_f64(field: &str, value: f64, min: f64, max: f64) -> Option<String> {
    (!(value.is_finite() && value >= min && value <= max)).then(|| format!("{field} must be in {min}..={max}, got {value}"))
}

/// `Some(reason)` when `value` is not in `min..=max`.
pub fn bad_u64(field: &str, value: u64, min: u64, max: u64) -> Option<String> {
    (value < min || value > max).then(|| format!("{field} must be {min}..={max}, got {value}"))
}

/// `Some(reason)` when a list has more than `max` items.
pub fn too_many<T>(field: &str, items: &[T], max: usize) -> Option<String> {
    (items.len() > max).then(|| format!("{field} may hold at most {max} items, got {}", items.len()))
}

/// `Some(reason)` when `value` is not one of `allowed`.
pub fn not_one_of(field: &str, value: &str, allowed: &[&str]) -> Option<String> {
    (!allowed.contains(&value)).then(|| format!("{field} must be one of {allowed:?}, got {value:?}"))
}

/// The earliest and latest time an action may be stamped with: 2020-01-01 and 2200-01-01, in
/// microseconds since the Unix epoch. An author's conductor stamps its own actions, so the time is a
/// claim; nothing legitimate is dated outside this range, and a time past 2^53 µs (the year 2255)
/// is not a number a JavaScript reader holds exactly.
pub const EARLIEST_ACTION_MICROS: i64 = 1_577_836_800_000_000;
pub const LATEST_ACTION_MICROS: i64 = 7_258_118_400_000_000;

/// `Some(reason)` when an action's time is outside 2020-01-01..2200-01-01.
pub fn bad_action_time(at: Timestamp) -> Option<String> {
    let micros = at.as_micros();
    (!(EARLIEST_ACTION_MICROS..LATEST_ACTION_MICROS).contains(&micros))
        .then(|| format!("the action's time must fall between 2020-01-01 and 2200-01-01, got {micros} µs since the Unix epoch"))
}

/// `Some(reason)` unless `ms` (milliseconds since the Unix epoch) is positive and at most
/// `max_after_ms` after the action's time `at`: a deadline or expiry judged by the author's own
/// clock, so that nobody can post one that never comes. One already past is allowed (it is simply
/// over): the author reads its clock before the write, which may wait its turn in a queue.
pub fn bad_time_until(field: &str, ms: i64, at: Timestamp, max_after_ms: i64) -> Option<String> {
    let at_ms = at.as_millis();
    (!(ms > 0 && ms <= at_ms.saturating_add(max_after_ms)))
        .then(|| format!("{field} must be positive and at most {max_after_ms} ms after the action's time ({at_ms} ms since the Unix epoch), got {ms}"))
}

pub fn is_hex_sha256(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `Some(reason)` unless `value` is a lowercase hex sha256.
pub fn bad_sha256(field: &str, value: &str) -> Option<String> {
    (!is_hex_sha256(value)).then(|| format!("{field} must be a lowercase hex sha256"))
}

/// `Some(reason)` unless exactly one of an inline value and a CID is given, each within bounds.
pub fn bad_inline_or_cid(field: &str, inline: &Option<String>, cid: &Option<String>, max_inline: usize) -> Option<String> {
    match (inline, cid) {
        (Some(text), None) => (text.len() > max_inline).then(|| format!("{field}_inline must be at most {max_inline} bytes (larger content goes to IPFS by CID)")),
        (None, Some(cid)) => bad_label(&format!("{field}_cid"), cid, MAX_CID_LEN),
        _ => Some(format!("exactly one of {field}_inline and {field}_cid must be set")),
    }
}

/// The entry hash of a path made of the given components (anchors and index keys).
/// Components are taken whole, so a key may contain dots.
pub fn path_hash(components: &[&str]) -> ExternResult<EntryHash> {
    Path::from(components.iter().map(|c| Component::from(c.as_bytes().to_vec())).collect::<Vec<_>>()).path_entry_hash()
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

/// The valid record at `hash` and its entry as `T`, which must be of the entry type `unit` (a
/// zome's `UnitEntryTypes` variant). Checking the type, not only that the bytes deserialize, matters:
/// an Assignment {job, assignee, slot, epoch} also deserializes as a Claim {job, slot}.
/// A missing record makes the conductor retry validation later.
pub fn must_get_typed_record<T, U>(hash: ActionHash, unit: U) -> ExternResult<Result<(Record, T), String>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
    U: core::fmt::Debug + Copy,
    ScopedEntryDefIndex: TryFrom<U, Error = WasmError>,
{
    typed_record(must_get_valid_record(hash)?, unit)
}

/// The record at `hash`, valid or not, and its entry as `T` of the entry type `unit`. For link
/// targets: a link is judged by what it points at (type, author, base), and every reader checks the
/// target's validity when it fetches it (`get_valid`). Requiring a *valid* target instead made the
/// verdict depend on the validator: Holochain 0.7 answers `must_get_valid_record` with Invalid where
/// the validator itself holds the target as Rejected, and with UnresolvedDependencies where it does
/// not (its arc does not cover the target), and app validation then re-runs that link and re-fetches
/// its target every few seconds, for good.
pub fn must_get_typed_target<T, U>(hash: ActionHash, unit: U) -> ExternResult<Result<(Record, T), String>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
    U: core::fmt::Debug + Copy,
    ScopedEntryDefIndex: TryFrom<U, Error = WasmError>,
{
    let action = must_get_action(hash)?;
    let Some(entry_hash) = action.action().entry_hash().cloned() else {
        return Ok(Err(format!("the referenced record is not a {unit:?}")));
    };
    let entry = must_get_entry(entry_hash)?;
    typed_record(Record::new(action, RecordEntry::Present(entry.into_content())), unit)
}

/// `record` and its entry as `T`, if it is of the entry type `unit`.
fn typed_record<T, U>(record: Record, unit: U) -> ExternResult<Result<(Record, T), String>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
    U: core::fmt::Debug + Copy,
    ScopedEntryDefIndex: TryFrom<U, Error = WasmError>,
{
    let expected = ScopedEntryDefIndex::try_from(unit)?;
    let is_expected_type = matches!(
        record.action().entry_type(),
        Some(EntryType::App(def)) if def.zome_index == expected.zome_index && def.entry_index == expected.zome_type
    );
    if !is_expected_type {
        return Ok(Err(format!("the referenced record is not a {unit:?}")));
    }
    match record.entry().to_app_option::<T>() {
        Ok(Some(entry)) => Ok(Ok((record, entry))),
        _ => Ok(Err(format!("the referenced record is not a {unit:?}"))),
    }
}

/// The target of a link as a record of entry type `unit` written by the link's own author (valid or
/// not: see `must_get_typed_target`).
pub fn own_link_target<T, U>(action: &TypedAction<CreateLinkData>, unit: U) -> ExternResult<Result<(Record, T), String>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
    U: core::fmt::Debug + Copy,
    ScopedEntryDefIndex: TryFrom<U, Error = WasmError>,
{
    let Some(target) = action.target_address.clone().into_action_hash() else {
        return Ok(Err(format!("the link must point at a {unit:?} action")));
    };
    Ok(match must_get_typed_target::<T, U>(target, unit)? {
        Ok((record, _)) if record.action().author() != action.author() => Err(format!("a link may only point at its author's own {unit:?}")),
        other => other,
    })
}

/// `Some(reason)` when a link that carries no tag has one (a tag is free storage otherwise).
pub fn bad_tag(action: &TypedAction<CreateLinkData>) -> Option<String> {
    (!action.tag.0.is_empty()).then(|| "this link carries no tag".to_string())
}

/// The `validate` callback of every Ripple Mesh DNA: entry creates go to `on_entry` (author, action
/// time, entry), link creates to `on_link`, each only with an action time in 2020..2200; agent activity is append-only; the genesis actions and
/// capability grants (sys-validated; grants are the conductor's signing credentials) are allowed;
/// everything else is denied with the operation named, so nobody's forgotten op type slips through.
pub fn validate_op<ET, LT>(
    dna: &str,
    op: &Op,
    on_entry: impl FnOnce(&AgentPubKey, Timestamp, ET) -> ExternResult<ValidateCallbackResult>,
    on_link: impl FnOnce(LT, &TypedAction<CreateLinkData>) -> ExternResult<ValidateCallbackResult>,
) -> ExternResult<ValidateCallbackResult>
where
    ET: EntryTypesHelper + UnitEnum + core::fmt::Debug,
    <ET as UnitEnum>::Unit: Into<ZomeEntryTypesKey> + core::fmt::Debug,
    LT: LinkTypesHelper + core::fmt::Debug,
    WasmError: From<<ET as EntryTypesHelper>::Error> + From<<LT as LinkTypesHelper>::Error>,
{
    // An entry that does not deserialize as its declared type (e.g. an unknown field: every
    // entry type denies them, or extra data would ride past the length limits) is invalid.
    let flat = match op.flattened::<ET, LT>() {
        Ok(flat) => flat,
        Err(e) => return invalid(format!("the op does not match its declared type: {e:?}")),
    };
    match flat {
        FlatOp::CreateEntry(OpEntry::CreateEntry { app_entry, action })
        | FlatOp::CreateRecord(OpRecord::CreateEntry { app_entry, action }) => match bad_action_time(action.timestamp()) {
            Some(reason) => invalid(reason),
            None => on_entry(action.author(), action.timestamp(), app_entry),
        },
        FlatOp::Link(OpLink::CreateLink { link_type, action })
        | FlatOp::CreateRecord(OpRecord::CreateLink { link_type, action }) => match bad_action_time(action.timestamp()) {
            Some(reason) => invalid(reason),
            None => on_link(link_type, &action),
        },
        FlatOp::AgentActivity(activity) => Ok(validate_append_only_activity(dna, activity)),
        FlatOp::CreateEntry(OpEntry::CreateAgent { .. })
        | FlatOp::CreateRecord(OpRecord::CreateAgent { .. })
        | FlatOp::CreateRecord(OpRecord::Dna { .. })
        | FlatOp::CreateRecord(OpRecord::AgentValidationPkg { .. })
        | FlatOp::CreateRecord(OpRecord::InitZomesComplete { .. })
        | FlatOp::CreateEntry(OpEntry::CreateCapGrant { .. })
        | FlatOp::CreateRecord(OpRecord::CreateCapGrant { .. }) => Ok(ValidateCallbackResult::Valid),
        other => invalid(format!("{dna} does not allow this operation: {other:?}")),
    }
}
