//! What the zomes' `tests/validate/` share: the T0 clock, the write helpers, padded entries,
//! coverage checks and the per-link-type tests.
use crate::*;
use hdi::prelude::*;

// --- helpers for a zome's tests/validate/ ---------------------------------------------------
//
// What the three integrity zomes' host-side tests share. They stay generic over each zome's
// `EntryTypes` / `UnitEntryTypes` / `LinkTypes` and take the zome's `validate` callback as an
// argument (each integrity crate exports its own `validate`; a test binary links one of them).

/// 2023-11-14T22:13:20Z in microseconds (20 s into its minute); every action of a validate test
/// is timed from it with [`at`].
pub const T0_MICROS: i64 = 1_700_000_000_000_000;

/// When [`HdiWorld::link`] and [`HdiWorld::tagged_link`] write their links: 10 s after T0.
pub const LINKED_AT_MS: i64 = 10_000;

/// `ms_after_t0` milliseconds after [`T0_MICROS`].
pub fn at(ms_after_t0: i64) -> Timestamp {
    Timestamp::from_micros(T0_MICROS + ms_after_t0 * 1000)
}

/// A validate test's world: a [`TestHdi`] (one per test: the HDI is per thread) plus the
/// test's agents. Writes are timed in milliseconds after T0 ([`at`]).
pub trait HdiWorld {
    fn hdi(&self) -> &TestHdi;

    /// Stores `entry` (a zome's `EntryTypes` value) as a valid record by `author`, written `ms`
    /// after T0.
    fn store<E>(&self, author: &TestAgent, entry: E, ms: i64) -> ActionHash
    where
        for<'a> EntryType: TryFrom<&'a E, Error = WasmError>,
        for<'a> Entry: TryFrom<&'a E, Error = WasmError>,
    {
        self.hdi().store_typed_entry(author, &entry, at(ms))
    }

    /// Both ops of `author` creating `entry` `ms` after T0.
    fn create<E>(&self, author: &TestAgent, entry: E, ms: i64) -> [Op; 2]
    where
        for<'a> EntryType: TryFrom<&'a E, Error = WasmError>,
        for<'a> Entry: TryFrom<&'a E, Error = WasmError>,
    {
        self.hdi().typed_create_entry_ops(author, &entry, at(ms))
    }

    /// Both ops of `author` creating a link (with `tag`) `ms` after T0.
    fn link_at<L>(&self, author: &TestAgent, link: L, base: AnyLinkableHash, target: AnyLinkableHash, tag: LinkTag, ms: i64) -> [Op; 2]
    where
        ScopedLinkType: TryFrom<L, Error = WasmError>,
    {
        self.hdi().typed_create_link_ops(author, link, base, target, tag, at(ms))
    }

    /// Both ops of `author` creating a link with `tag` at [`LINKED_AT_MS`].
    fn tagged_link<L>(&self, author: &TestAgent, link: L, base: AnyLinkableHash, target: AnyLinkableHash, tag: LinkTag) -> [Op; 2]
    where
        ScopedLinkType: TryFrom<L, Error = WasmError>,
    {
        self.link_at(author, link, base, target, tag, LINKED_AT_MS)
    }

    /// Both ops of `author` creating an untagged link at [`LINKED_AT_MS`].
    fn link<L>(&self, author: &TestAgent, link: L, base: AnyLinkableHash, target: AnyLinkableHash) -> [Op; 2]
    where
        ScopedLinkType: TryFrom<L, Error = WasmError>,
    {
        self.tagged_link(author, link, base, target, ().into())
    }
}

/// Texts with a control character in them, each ending in a printable one: an OSC 52 clipboard
/// write (ESC … BEL), a line feed, DEL and a C1 CSI (U+009B). A label holding any is invalid.
pub const CONTROL_TEXTS: [&str; 4] = ["\u{1b}]52;c;aGk=\u{7}x", "line\nbreak", "del\u{7f}x", "c1\u{9b}2J"];

/// How long the unknown field of [`padded_entry`] is.
pub const PADDING_LEN: usize = 100_000;

/// The app entry of `value` plus a field its type does not have, `"padding"`, of
/// [`PADDING_LEN`] bytes: the msgpack map `value` encodes to, one entry longer (what
/// `#[serde(flatten)]` of `value` next to a `padding: String` field writes). An entry type that
/// does not deny unknown fields would let such data ride past every length bound.
pub fn padded_entry<T: Serialize + std::fmt::Debug>(value: &T) -> Entry {
    let bytes = holochain_serialized_bytes::encode(value).expect("encode entry");
    let (len, header) = match bytes[0] {
        b @ 0x80..=0x8f => (usize::from(b & 0x0f), 1),
        0xde => (usize::from(u16::from_be_bytes([bytes[1], bytes[2]])), 3),
        0xdf => (u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize, 5),
        other => panic!("padded_entry needs a value that encodes as a msgpack map, got marker {other:#04x}"),
    };
    let mut out = match len + 1 {
        n @ 0..=15 => vec![0x80 | n as u8],
        n @ 16..=0xffff => [&[0xde][..], &(n as u16).to_be_bytes()].concat(),
        n => [&[0xdf][..], &(n as u32).to_be_bytes()].concat(),
    };
    out.extend_from_slice(&bytes[header..]);
    out.extend(holochain_serialized_bytes::encode(&"padding").expect("encode key"));
    out.extend(holochain_serialized_bytes::encode(&"x".repeat(PADDING_LEN)).expect("encode padding"));
    Entry::App(AppEntryBytes(SerializedBytes::from(UnsafeBytes::from(out))))
}

/// The two forms in which `validate` judges a create by its content, in the order the
/// `*_create_*_ops` builders return them.

/// type of each case, against `all`, e.g. `UnitEntryTypes::iter()`): a zome that gains a type
/// without a test case fails with `message`.
#[track_caller]
pub fn assert_covers_every<T: Ord + std::fmt::Debug>(
    covered: impl IntoIterator<Item = T>,
    all: impl IntoIterator<Item = T>,
    message: &str,
) {
    let covered: std::collections::BTreeSet<T> = covered.into_iter().collect();
    assert_eq!(covered, all.into_iter().collect(), "{message}");
}

/// The case for `key` out of a link-case table built with its world (e.g. a zome's
/// `link_cases()`, keyed by `|c| c.link`), with that world.
#[track_caller]
pub fn pick_case<W, C, K: PartialEq>((world, cases): (W, Vec<C>), key: K, key_of: impl Fn(&C) -> K) -> (W, C) {
    let case = cases.into_iter().find(|c| key_of(c) == key).expect("a case for every link type");
    (world, case)
}

/// Panics unless the stored valid record `hash` was written by `author`, whose key signed it,
/// and `other`'s key did not (the set-up of a validate test: real signatures).
#[track_caller]
pub fn assert_signed_by(hash: ActionHash, author: &TestAgent, other: &TestAgent) {
    let record = must_get_valid_record(hash).expect("a stored valid record");
    assert_eq!(record.action().author(), &author.key);
    assert!(verify_signature(author.pub_key(), record.signature().clone(), record.action().clone()).unwrap());
    assert!(!verify_signature(other.pub_key(), record.signature().clone(), record.action().clone()).unwrap());
}

/// The tests every link type of a zome gets, one module per link type
/// (`link_all_jobs => LinkTypes::AllJobs, …`). Each test calls the invoking file's function of
/// the same purpose with the link type: `valid` → `link_valid`,
/// `rejects_a_target_written_by_another_agent` → `link_rejects_anothers_target`,
/// `rejects_a_wrong_base` → `link_rejects_wrong_base`, `rejects_a_target_that_is_not_an_action`
/// → `link_rejects_target_that_is_not_an_action`, `rejects_a_target_of_another_type` →
/// `link_rejects_target_of_another_type`, `dangling_target_is_unresolved` →
/// `link_dangling_target_is_unresolved`, `rejected_target_is_judged_by_readers` →
/// `link_rejected_target_is_judged_by_readers`. More tests per link type go in a leading
/// `extra { test_name => function, … }`.
#[macro_export]
macro_rules! link_type_tests {
    (@module $module:ident, $link:expr, { $($test:ident => $check:path),* $(,)? }) => {
        mod $module {
            use super::*;
            #[test]
            fn valid() { link_valid($link) }
            #[test]
            fn rejects_a_target_written_by_another_agent() { link_rejects_anothers_target($link) }
            #[test]
            fn rejects_a_wrong_base() { link_rejects_wrong_base($link) }
            #[test]
            fn rejects_a_target_that_is_not_an_action() { link_rejects_target_that_is_not_an_action($link) }
            #[test]
            fn rejects_a_target_of_another_type() { link_rejects_target_of_another_type($link) }
            #[test]
            fn dangling_target_is_unresolved() { link_dangling_target_is_unresolved($link) }
            #[test]
            fn rejected_target_is_judged_by_readers() { link_rejected_target_is_judged_by_readers($link) }
            $(
                #[test]
                fn $test() { $check($link) }
            )*
        }
    };
    (extra $extra:tt $($module:ident => $link:expr),* $(,)?) => {
        $( $crate::link_type_tests!(@module $module, $link, $extra); )*
    };
    ($($module:ident => $link:expr),* $(,)?) => {
        $crate::link_type_tests!(extra {} $($module => $link),*);
    };
}
