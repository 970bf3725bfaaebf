//! An in-memory [`HdiT`] for host-side unit tests of integrity zomes' `validate` callbacks,
//! run with plain `cargo test` (no conductor, no wasm).
//!
//! * [`TestHdi`] answers `zome_info` with the zome types it was installed with (as
//!   `hdi::test_utils::set_zome_types` does, so `op.flattened::<EntryTypes, LinkTypes>()`
//!   works), serves `must_get_valid_record` / `must_get_action` / `must_get_entry` from the
//!   records stored in it, verifies ed25519 signatures for real and returns a fixed `dna_info`.
//! * A missing (or rejected) dependency is answered exactly as the conductor answers it during
//!   validation: `Err(WasmErrorInner::HostShortCircuit(..))` carrying
//!   `ValidateCallbackResult::UnresolvedDependencies`. In the conductor that error traps the
//!   wasm and the carried bytes become the callback's result ("retry later"); on the host,
//!   `?` propagates it out of `validate`, so a test sees `Err(..)`. [`as_conductor_sees_it`]
//!   turns such a result into what the conductor would record.
//! * [`TestAgent`] is a deterministic agent whose key really signs (ed25519 from a seed byte).
//! * Builders for app-entry records and for the create-entry and create-link ops in both the
//!   authority forms (`Op::CreateEntry` / `Op::CreateLink`, formerly StoreEntry /
//!   RegisterCreateLink) and the record form (`Op::CreateRecord`, formerly StoreRecord).
//! * What the zomes' `tests/validate/` share, generic over each zome's types and taking its
//!   `validate` callback: the T0 clock ([`at`]), the [`HdiWorld`] write helpers, verdicts on
//!   both forms of a create ([`validate_verdicts!`], [`expect_valid_by`], …), coverage of every
//!   type ([`assert_covers_every`]), [`padded_entry`] and the per-link-type tests
//!   ([`link_type_tests!`]).
//!
//! The HDI is a thread-local (`set_hdi`), and cargo runs each test on its own thread: install
//! one [`TestHdi`] per test.
#![cfg(not(target_arch = "wasm32"))]

mod agents;
mod host;
mod ops;
mod verdicts;
mod world;

pub use agents::*;
pub use host::*;
pub use ops::*;
pub use verdicts::*;
pub use world::*;

pub use hdi::test_utils::short_hand;

/// Name `dna_info` reports.
pub const TEST_DNA_NAME: &str = "ripple_test_dna";
/// Name `zome_info` reports.
pub const TEST_ZOME_NAME: &str = "ripple_test_integrity";

#[doc(hidden)]
pub mod __macro_support {
    pub use hdi::prelude::{ActionHash, Op};
}

/// Panics unless the test cases cover every value of a type (`covered`, e.g. the unit entry

#[cfg(test)]
mod tests {
    use super::*;
    use hdi::prelude::*;

    #[test]
    fn agent_keys_are_deterministic_and_sign() {
        let hdi = install_test_hdi(&[(0, 1)], &[(0, 1)]);
        let (a, b) = (test_agent(1), test_agent(2));
        assert_eq!(a.key, test_agent(1).key);
        assert_ne!(a.key, b.key);
        let data = "hello".to_string();
        assert!(verify_signature(a.pub_key(), a.sign(&data), data.clone()).unwrap());
        assert!(!verify_signature(b.pub_key(), a.sign(&data), data.clone()).unwrap());
        assert!(verify_signature_raw(a.pub_key(), a.sign_raw(b"raw"), b"raw".to_vec()).unwrap());
        // A stored action's signature verifies against its author.
        let hash = hdi.store_app_entry(&a, 0, 0, Entry::App(AppEntryBytes(SerializedBytes::default())), Timestamp::from_micros(1));
        let record = must_get_valid_record(hash).unwrap();
        assert!(verify_signature(a.pub_key(), record.signature().clone(), record.action().clone()).unwrap());
    }

    #[test]
    fn store_and_must_get() {
        let hdi = install_test_hdi(&[(0, 2)], &[]);
        let agent = test_agent(7);
        let entry = Entry::App(AppEntryBytes(SerializedBytes::default()));
        let hash = hdi.store_app_entry(&agent, 0, 1, entry.clone(), Timestamp::from_micros(5));
        let record = must_get_valid_record(hash.clone()).unwrap();
        assert_eq!(record.action().author(), &agent.key);
        assert_eq!(record.action().action_seq(), 4);
        assert_eq!(must_get_action(hash.clone()).unwrap().as_hash(), &hash);
        let entry_hash = record.action().entry_hash().unwrap().clone();
        assert_eq!(must_get_entry(entry_hash).unwrap().content, entry);
        // The next action of the same agent follows on its chain.
        let next = hdi.app_entry_record(&agent, 0, 0, entry.clone(), Timestamp::from_micros(6));
        assert_eq!(next.action().action_seq(), 5);
        assert_eq!(next.action().prev_action(), Some(&hash));

        let missing = short_hand::ah(9);
        let err = must_get_valid_record(missing.clone()).unwrap_err();
        assert_unresolved(Err(err), missing);
        assert_eq!(zome_info().unwrap().zome_types.entries.0.len(), 1);
        assert_eq!(dna_info().unwrap().name, TEST_DNA_NAME);

        let rejected = hdi.store_rejected(next);
        assert!(must_get_action(rejected.clone()).is_ok());
        assert!(must_get_valid_record(rejected).is_err());
    }
}
