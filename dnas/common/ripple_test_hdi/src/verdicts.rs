//! What `validate` returned, as the conductor would see it, checked on both forms of a create.
use hdi::prelude::*;

// --- results ------------------------------------------------------------------------------

/// The error the conductor raises in a validation context when a `must_get_*` dependency is
/// missing or not valid: it halts the wasm, and the carried bytes become `validate`'s result.
pub fn unresolved_dependency_error(hash: impl Into<AnyDhtHash>) -> WasmError {
    let result = ValidateCallbackResult::UnresolvedDependencies(UnresolvedDependencies::Hashes(vec![hash.into()]));
    let bytes = holochain_serialized_bytes::encode(&ExternIO::encode(result).expect("encode ExternIO"))
        .expect("encode short circuit");
    wasm_error!(WasmErrorInner::HostShortCircuit(bytes))
}

/// What the conductor records for a `validate` result: a `HostShortCircuit` error is replaced
/// by the callback result it carries (e.g. `UnresolvedDependencies`); anything else as is.
pub fn as_conductor_sees_it(result: ExternResult<ValidateCallbackResult>) -> ExternResult<ValidateCallbackResult> {
    match result {
        Err(WasmError { error: WasmErrorInner::HostShortCircuit(bytes), .. }) => {
            let io: ExternIO = holochain_serialized_bytes::decode(&bytes).map_err(|e| wasm_error!(e))?;
            io.decode().map_err(|e| wasm_error!(e))
        }
        other => other,
    }
}

/// Panics unless `result` is `Ok(Valid)`.
#[track_caller]
pub fn assert_valid(result: ExternResult<ValidateCallbackResult>) {
    match result {
        Ok(ValidateCallbackResult::Valid) => {}
        other => panic!("expected Valid, got {other:?}"),
    }
}

/// Panics unless `result` is `Ok(Invalid(reason))` with `reason` containing every one of
/// `needles`; returns the reason.
#[track_caller]
pub fn assert_invalid(result: ExternResult<ValidateCallbackResult>, needles: &[&str]) -> String {
    match result {
        Ok(ValidateCallbackResult::Invalid(reason)) => {
            for needle in needles {
                assert!(reason.contains(needle), "Invalid reason {reason:?} does not mention {needle:?}");
            }
            reason
        }
        other => panic!("expected Invalid mentioning {needles:?}, got {other:?}"),
    }
}

/// Panics unless `result` is the short circuit of a missing dependency on `hash` (what a
/// host-side `validate` returns when `must_get_*` finds nothing), and unless the conductor
/// would take it as `UnresolvedDependencies([hash])`, i.e. retry later.
#[track_caller]
pub fn assert_unresolved(result: ExternResult<ValidateCallbackResult>, hash: impl Into<AnyDhtHash>) {
    assert!(
        matches!(&result, Err(WasmError { error: WasmErrorInner::HostShortCircuit(_), .. })),
        "expected a HostShortCircuit error, got {result:?}"
    );
    let expected = ValidateCallbackResult::UnresolvedDependencies(UnresolvedDependencies::Hashes(vec![hash.into()]));
    assert_eq!(as_conductor_sees_it(result), Ok(expected));
}


pub const FORMS: [&str; 2] = ["entry/base authority op", "record authority op"];

/// Panics unless `validate` finds both forms of a create (`ops`) valid.
#[track_caller]
pub fn expect_valid_by(validate: impl Fn(Op) -> ExternResult<ValidateCallbackResult>, ops: [Op; 2]) {
    for (form, op) in FORMS.iter().zip(ops) {
        let result = validate(op);
        assert!(matches!(result, Ok(ValidateCallbackResult::Valid)), "{form}: expected Valid, got {result:?}");
    }
}

/// Panics unless `validate` rejects both forms, with a reason that mentions every needle.
#[track_caller]
pub fn expect_invalid_by(validate: impl Fn(Op) -> ExternResult<ValidateCallbackResult>, ops: [Op; 2], needles: &[&str]) {
    for (form, op) in FORMS.iter().zip(ops) {
        match validate(op) {
            Ok(ValidateCallbackResult::Invalid(reason)) => {
                for needle in needles {
                    assert!(reason.contains(needle), "{form}: reason {reason:?} does not mention {needle:?}");
                }
            }
            other => panic!("{form}: expected Invalid mentioning {needles:?}, got {other:?}"),
        }
    }
}

/// Panics unless both forms are neither valid nor invalid: `validate` returns the host's short
/// circuit, which the conductor reads as `UnresolvedDependencies([missing])` (retry later).
#[track_caller]
pub fn expect_unresolved_by(validate: impl Fn(Op) -> ExternResult<ValidateCallbackResult>, ops: [Op; 2], missing: &ActionHash) {
    for (form, op) in FORMS.iter().zip(ops) {
        let result = validate(op);
        assert!(
            matches!(&result, Err(WasmError { error: WasmErrorInner::HostShortCircuit(_), .. })),
            "{form}: expected the host's short circuit, got {result:?}"
        );
        let expected = ValidateCallbackResult::UnresolvedDependencies(UnresolvedDependencies::Hashes(vec![missing.clone().into()]));
        assert_eq!(as_conductor_sees_it(result), Ok(expected), "{form}");
    }
}

/// Panics if `validate` finds either form valid (Invalid and an error out of `validate` both do).
#[track_caller]
pub fn expect_not_valid_by(validate: impl Fn(Op) -> ExternResult<ValidateCallbackResult>, ops: [Op; 2]) {
    for (form, op) in FORMS.iter().zip(ops) {
        let result = validate(op);
        assert!(!matches!(result, Ok(ValidateCallbackResult::Valid)), "{form}: a padded entry passed: {result:?}");
    }
}

/// Panics unless `validate` rejects every op of an update or delete (`ops`, from
/// [`TestHdi::update_entry_ops`] and the like) of an append-only zome: the agent activity
/// authority's op with a reason mentioning `append_only`, every other op `not_allowed`.
#[track_caller]
pub fn expect_all_rejected_by<const N: usize>(
    validate: impl Fn(Op) -> ExternResult<ValidateCallbackResult>,
    ops: [Op; N],
    not_allowed: &str,
    append_only: &str,
) {
    for op in ops {
        let needle = if matches!(op, Op::AgentActivity(_)) { append_only } else { not_allowed };
        let what = format!("{op:?}").chars().take(40).collect::<String>();
        match validate(op) {
            Ok(ValidateCallbackResult::Invalid(reason)) => assert!(reason.contains(needle), "{what}: {reason}"),
            other => panic!("{what}: expected Invalid, got {other:?}"),
        }
    }
}

/// Defines the verdict helpers of a zome's tests/validate/, bound to its `validate` callback
/// (`ripple_test_hdi::validate_verdicts!(validate);` at the top level of the test file):
/// `expect_valid(ops)`, `expect_invalid(ops, needles)`, `expect_unresolved(ops, missing)` and
/// `expect_not_valid(ops)`, each judging both forms of a create ([`FORMS`]); see

#[macro_export]
macro_rules! validate_verdicts {
    ($validate:path) => {
        /// Both forms valid.
        #[allow(dead_code)]
        #[track_caller]
        fn expect_valid(ops: [$crate::__macro_support::Op; 2]) {
            $crate::expect_valid_by($validate, ops)
        }

        /// Both forms rejected, with a reason that mentions every needle.
        #[allow(dead_code)]
        #[track_caller]
        fn expect_invalid(ops: [$crate::__macro_support::Op; 2], needles: &[&str]) {
            $crate::expect_invalid_by($validate, ops, needles)
        }

        /// Neither valid nor invalid: the dependency `missing` is unresolved (retry later).
        #[allow(dead_code)]
        #[track_caller]
        fn expect_unresolved(ops: [$crate::__macro_support::Op; 2], missing: &$crate::__macro_support::ActionHash) {
            $crate::expect_unresolved_by($validate, ops, missing)
        }

        /// Neither form valid: rejected, or refused with an error.
        #[allow(dead_code)]
        #[track_caller]
        fn expect_not_valid(ops: [$crate::__macro_support::Op; 2]) {
            $crate::expect_not_valid_by($validate, ops)
        }
    };
}
