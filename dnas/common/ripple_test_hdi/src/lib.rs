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
//! * What the zomes' `tests/validate.rs` share, generic over each zome's types and taking its
//!   `validate` callback: the T0 clock ([`at`]), the [`HdiWorld`] write helpers, verdicts on
//!   both forms of a create ([`validate_verdicts!`], [`expect_valid_by`], …), coverage of every
//!   type ([`assert_covers_every`]), [`padded_entry`] and the per-link-type tests
//!   ([`link_type_tests!`]).
//!
//! The HDI is a thread-local (`set_hdi`), and cargo runs each test on its own thread: install
//! one [`TestHdi`] per test.
#![cfg(not(target_arch = "wasm32"))]

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use hdi::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

pub use hdi::test_utils::short_hand;

/// Name `dna_info` reports.
pub const TEST_DNA_NAME: &str = "ripple_test_dna";
/// Name `zome_info` reports.
pub const TEST_ZOME_NAME: &str = "ripple_test_integrity";

// --- agents -------------------------------------------------------------------------------

/// A deterministic agent: an ed25519 key pair from a seed byte, and its `AgentPubKey`
/// (whose raw 32 bytes are the ed25519 public key, as in Holochain).
#[derive(Clone, Debug)]
pub struct TestAgent {
    pub key: AgentPubKey,
    signing_key: SigningKey,
}

impl TestAgent {
    pub fn from_seed(seed: u8) -> Self {
        let signing_key = SigningKey::from_bytes(&[seed; 32]);
        let key = AgentPubKey::from_raw_32(signing_key.verifying_key().to_bytes().to_vec());
        Self { key, signing_key }
    }

    /// The agent's public key (the author of what it writes).
    pub fn pub_key(&self) -> AgentPubKey {
        self.key.clone()
    }

    /// Signs raw bytes (the counterpart of `verify_signature_raw`).
    pub fn sign_raw(&self, data: &[u8]) -> Signature {
        Signature(self.signing_key.sign(data).to_bytes())
    }

    /// Signs the msgpack encoding of `data`, as the conductor's keystore does (the counterpart
    /// of `hdi::prelude::verify_signature`).
    pub fn sign<T: Serialize + std::fmt::Debug>(&self, data: &T) -> Signature {
        self.sign_raw(&holochain_serialized_bytes::encode(data).expect("encode data to sign"))
    }

    /// Hashes and signs an action (the signature covers the encoded action, as in Holochain).
    pub fn sign_action(&self, action: Action) -> SignedActionHashed {
        let signature = self.sign(&action);
        SignedActionHashed::with_presigned(ActionHashed::from_content_sync(action), signature)
    }
}

/// The deterministic test agent for `seed`.
pub fn test_agent(seed: u8) -> TestAgent {
    TestAgent::from_seed(seed)
}

// --- the HDI ------------------------------------------------------------------------------

#[derive(Default)]
struct State {
    zome_types: ScopedZomeTypesSet,
    zome_id: u8,
    records: HashMap<ActionHash, Record>,
    /// Stored but not valid: `must_get_action`/`must_get_entry` find them,
    /// `must_get_valid_record` does not (as for a record the DHT rejected).
    rejected: HashMap<ActionHash, Record>,
    entries: HashMap<EntryHash, Entry>,
    /// Per agent: the next action_seq and the previous action's hash.
    chains: HashMap<AgentPubKey, (u32, ActionHash)>,
}

/// An in-memory HDI; cheap to clone (clones share the store), so a test keeps one handle
/// and installs another with [`TestHdi::install`].
#[derive(Clone, Default)]
pub struct TestHdi(Arc<Mutex<State>>);

/// Builds a [`TestHdi`] with the given entry and link zome types and installs it with
/// `set_hdi`; the arguments mean what they mean for `hdi::test_utils::set_zome_types`:
/// `(zome_index, number_of_types)` for every zome in scope.
pub fn install_test_hdi(entries: &[(u8, u8)], links: &[(u8, u8)]) -> TestHdi {
    let hdi = TestHdi::new(entries, links);
    hdi.install();
    hdi
}

impl TestHdi {
    pub fn new(entries: &[(u8, u8)], links: &[(u8, u8)]) -> Self {
        let state = State {
            zome_types: ScopedZomeTypesSet {
                entries: ScopedZomeTypes(
                    entries
                        .iter()
                        .map(|(z, n)| (ZomeIndex(*z), (0..*n).map(EntryDefIndex).collect()))
                        .collect(),
                ),
                links: ScopedZomeTypes(
                    links
                        .iter()
                        .map(|(z, n)| (ZomeIndex(*z), (0..*n).map(LinkType).collect()))
                        .collect(),
                ),
            },
            zome_id: entries.first().or(links.first()).map_or(0, |(z, _)| *z),
            ..State::default()
        };
        Self(Arc::new(Mutex::new(state)))
    }

    /// For one integrity zome at `zome_index`, with as many types as the zome's unit entry
    /// enum `E` and link enum `L` have (`install_for::<UnitEntryTypes, LinkTypes>(0)`), so
    /// the counts follow the zome when it gains types.
    pub fn install_for<E: EnumLen, L: EnumLen>(zome_index: u8) -> Self {
        install_test_hdi(&[(zome_index, E::ENUM_LEN)], &[(zome_index, L::ENUM_LEN)])
    }

    /// Makes this the HDI of the current thread (what `must_get_*`, `zome_info`, … call).
    pub fn install(&self) {
        set_hdi(self.clone());
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // -- the store --

    /// Stores a valid record (and its entry, if any); returns its action hash.
    pub fn store(&self, record: Record) -> ActionHash {
        self.put(record, true)
    }

    /// Stores a record the network judged invalid: `must_get_action` and `must_get_entry`
    /// return it, `must_get_valid_record` does not.
    pub fn store_rejected(&self, record: Record) -> ActionHash {
        self.put(record, false)
    }

    /// Stores `record` (and its entry, if any) as valid or as rejected, and not as the other.
    fn put(&self, record: Record, valid: bool) -> ActionHash {
        let hash = record.action_address().clone();
        let mut state = self.state();
        if let (Some(entry_hash), Some(entry)) = (record.action().entry_hash(), record.entry().as_option()) {
            state.entries.insert(entry_hash.clone(), entry.clone());
        }
        let State { records, rejected, .. } = &mut *state;
        let (into, out_of) = if valid { (records, rejected) } else { (rejected, records) };
        out_of.remove(&hash);
        into.insert(hash.clone(), record);
        hash
    }

    /// Stores a bare entry (for `must_get_entry`).
    pub fn store_entry(&self, entry: Entry) -> EntryHash {
        let hash = EntryHash::with_data_sync(&entry);
        self.state().entries.insert(hash.clone(), entry);
        hash
    }

    /// Forgets a record (valid or rejected); returns it if it was stored.
    pub fn remove(&self, hash: &ActionHash) -> Option<Record> {
        let mut state = self.state();
        state.records.remove(hash).or_else(|| state.rejected.remove(hash))
    }

    pub fn contains(&self, hash: &ActionHash) -> bool {
        let state = self.state();
        state.records.contains_key(hash) || state.rejected.contains_key(hash)
    }

    pub fn record(&self, hash: &ActionHash) -> Option<Record> {
        let state = self.state();
        state.records.get(hash).or_else(|| state.rejected.get(hash)).cloned()
    }

    // -- actions and records --

    /// The header of `author`'s next action: action_seq counts up per agent from 4 (after
    /// the genesis actions and init) and prev_action is the agent's previous action built
    /// here (a stand-in hash before the first one).
    pub fn next_header(&self, author: &AgentPubKey, timestamp: Timestamp) -> ActionHeader {
        let mut state = self.state();
        let (seq, prev) = state
            .chains
            .entry(author.clone())
            .or_insert_with(|| (4, ActionHash::from_raw_32(author.get_raw_32().to_vec())))
            .clone();
        ActionHeader { author: author.clone(), timestamp, action_seq: seq, prev_action: Some(prev) }
    }

    /// Hashes and signs `data` as `agent`'s next action.
    pub fn author_action(&self, agent: &TestAgent, timestamp: Timestamp, data: ActionData) -> SignedActionHashed {
        let header = self.next_header(&agent.key, timestamp);
        let signed = agent.sign_action(Action { header, data });
        let (seq, _) = self.state().chains[&agent.key];
        self.state().chains.insert(agent.key.clone(), (seq + 1, signed.as_hash().clone()));
        signed
    }

    /// `agent`'s signed `Create` of an app entry of type `(zome_index, entry_index)`.
    pub fn create_entry_action(
        &self,
        agent: &TestAgent,
        app_entry_def: AppEntryDef,
        entry: &Entry,
        timestamp: Timestamp,
    ) -> SignedActionHashed {
        let data = ActionData::Create(CreateData {
            entry_type: EntryType::App(app_entry_def),
            entry_hash: EntryHash::with_data_sync(entry),
        });
        self.author_action(agent, timestamp, data)
    }

    /// A record (not stored) of `agent` creating `entry` as the public app entry type
    /// `(zome_index, entry_index)` at `timestamp`.
    pub fn app_entry_record(
        &self,
        agent: &TestAgent,
        zome_index: u8,
        entry_index: u8,
        entry: Entry,
        timestamp: Timestamp,
    ) -> Record {
        let def = short_hand::public_app_entry_def(zome_index, entry_index);
        let signed = self.create_entry_action(agent, def, &entry, timestamp);
        Record::new(signed, RecordEntry::Present(entry))
    }

    /// Like [`Self::app_entry_record`], stored (as valid); returns the record's action hash.
    pub fn store_app_entry(
        &self,
        agent: &TestAgent,
        zome_index: u8,
        entry_index: u8,
        entry: Entry,
        timestamp: Timestamp,
    ) -> ActionHash {
        self.store(self.app_entry_record(agent, zome_index, entry_index, entry, timestamp))
    }

    /// A record (not stored) of `agent` creating a zome's typed entry, e.g.
    /// `EntryTypes::Job(job)`; its type comes from the installed zome types.
    pub fn typed_entry_record<E>(&self, agent: &TestAgent, entry: &E, timestamp: Timestamp) -> Record
    where
        for<'a> EntryType: TryFrom<&'a E, Error = WasmError>,
        for<'a> Entry: TryFrom<&'a E, Error = WasmError>,
    {
        let entry_type = EntryType::try_from(entry).expect("entry type in scope of the installed zome types");
        let entry = Entry::try_from(entry).expect("serialize entry");
        let data = ActionData::Create(CreateData { entry_type, entry_hash: EntryHash::with_data_sync(&entry) });
        Record::new(self.author_action(agent, timestamp, data), RecordEntry::Present(entry))
    }

    /// Like [`Self::typed_entry_record`], stored (as valid); returns its action hash.
    pub fn store_typed_entry<E>(&self, agent: &TestAgent, entry: &E, timestamp: Timestamp) -> ActionHash
    where
        for<'a> EntryType: TryFrom<&'a E, Error = WasmError>,
        for<'a> Entry: TryFrom<&'a E, Error = WasmError>,
    {
        self.store(self.typed_entry_record(agent, entry, timestamp))
    }

    /// `agent`'s signed `CreateLink` of link type `(zome_index, link_type)`.
    #[allow(clippy::too_many_arguments)]
    pub fn create_link_action(
        &self,
        agent: &TestAgent,
        zome_index: u8,
        link_type: u8,
        base: impl Into<AnyLinkableHash>,
        target: impl Into<AnyLinkableHash>,
        tag: impl Into<LinkTag>,
        timestamp: Timestamp,
    ) -> SignedActionHashed {
        let data = ActionData::CreateLink(CreateLinkData {
            base_address: base.into(),
            target_address: target.into(),
            zome_index: ZomeIndex(zome_index),
            link_type: LinkType(link_type),
            tag: tag.into(),
        });
        self.author_action(agent, timestamp, data)
    }

    /// [`Self::create_link_action`] for a zome's link type (e.g. `LinkTypes::AllJobs`).
    pub fn typed_create_link_action<L>(
        &self,
        agent: &TestAgent,
        link_type: L,
        base: impl Into<AnyLinkableHash>,
        target: impl Into<AnyLinkableHash>,
        tag: impl Into<LinkTag>,
        timestamp: Timestamp,
    ) -> SignedActionHashed
    where
        ScopedLinkType: TryFrom<L, Error = WasmError>,
    {
        let scoped = ScopedLinkType::try_from(link_type).expect("link type in scope of the installed zome types");
        self.create_link_action(agent, scoped.zome_index.0, scoped.zome_type.0, base, target, tag, timestamp)
    }

    /// Stores the record of `action`, an action without an entry (e.g. a `CreateLink`, so that
    /// the link exists for [`Self::delete_link_ops`]), as valid; returns its hash.
    pub fn store_action(&self, action: &SignedActionHashed) -> ActionHash {
        self.store(Record::new(action.clone(), RecordEntry::NA))
    }

    // -- ops, both forms at once --

    /// The two ops a create of an app entry produces that `validate` judges by content:
    /// `[Op::CreateEntry (entry authority), Op::CreateRecord (record authority)]`, for the
    /// same signed action.
    pub fn create_entry_ops(
        &self,
        agent: &TestAgent,
        zome_index: u8,
        entry_index: u8,
        entry: Entry,
        timestamp: Timestamp,
    ) -> [Op; 2] {
        create_entry_ops_of(self.app_entry_record(agent, zome_index, entry_index, entry, timestamp))
    }

    /// [`Self::create_entry_ops`] for raw `entry` bytes declared as the zome entry type
    /// `entry_type` (e.g. `UnitEntryTypes::Job`): for entries the zome's typed enum cannot
    /// build, such as one with fields its type does not have ([`padded_entry`]).
    pub fn create_entry_ops_as<U>(&self, agent: &TestAgent, entry_type: U, entry: Entry, timestamp: Timestamp) -> [Op; 2]
    where
        ScopedEntryDefIndex: TryFrom<U, Error = WasmError>,
    {
        let scoped = ScopedEntryDefIndex::try_from(entry_type).expect("entry type in scope of the installed zome types");
        self.create_entry_ops(agent, scoped.zome_index.0, scoped.zome_type.0, entry, timestamp)
    }

    /// [`Self::create_entry_ops`] for a zome's typed entry (e.g. `EntryTypes::Job(job)`).
    pub fn typed_create_entry_ops<E>(&self, agent: &TestAgent, entry: &E, timestamp: Timestamp) -> [Op; 2]
    where
        for<'a> EntryType: TryFrom<&'a E, Error = WasmError>,
        for<'a> Entry: TryFrom<&'a E, Error = WasmError>,
    {
        create_entry_ops_of(self.typed_entry_record(agent, entry, timestamp))
    }

    /// The two ops a create-link produces that `validate` judges by content:
    /// `[Op::CreateLink (base authority), Op::CreateRecord (record authority)]`.
    #[allow(clippy::too_many_arguments)]
    pub fn create_link_ops(
        &self,
        agent: &TestAgent,
        zome_index: u8,
        link_type: u8,
        base: impl Into<AnyLinkableHash>,
        target: impl Into<AnyLinkableHash>,
        tag: impl Into<LinkTag>,
        timestamp: Timestamp,
    ) -> [Op; 2] {
        create_link_ops_of(self.create_link_action(agent, zome_index, link_type, base, target, tag, timestamp))
    }

    /// [`Self::create_link_ops`] for a zome's link type (e.g. `LinkTypes::AllJobs`).
    pub fn typed_create_link_ops<L>(
        &self,
        agent: &TestAgent,
        link_type: L,
        base: impl Into<AnyLinkableHash>,
        target: impl Into<AnyLinkableHash>,
        tag: impl Into<LinkTag>,
        timestamp: Timestamp,
    ) -> [Op; 2]
    where
        ScopedLinkType: TryFrom<L, Error = WasmError>,
    {
        let signed = self.typed_create_link_action(agent, link_type, base, target, tag, timestamp);
        create_link_ops_of(signed)
    }
}

/// `[Op::CreateEntry, Op::CreateRecord]` of a create's record (which carries its entry).
fn create_entry_ops_of(record: Record) -> [Op; 2] {
    [store_entry_op_from_record(&record), store_record_op(record)]
}

/// `[Op::CreateLink, Op::CreateRecord]` of a signed `CreateLink`.
fn create_link_ops_of(create_link: SignedActionHashed) -> [Op; 2] {
    [register_create_link_op(create_link.clone()), store_record_op(Record::new(create_link, RecordEntry::NA))]
}

// --- updates and deletes ----------------------------------------------------------------------

impl TestHdi {
    /// Every op an `Update` by `agent` of the stored app-entry record `original` to `entry`
    /// (of the original's entry type) produces:
    /// `[Op::CreateRecord, Op::CreateEntry, Op::Update, Op::AgentActivity]`.
    /// An append-only zome must reject each of them.
    pub fn update_entry_ops(&self, agent: &TestAgent, original: &ActionHash, entry: Entry, timestamp: Timestamp) -> [Op; 4] {
        let record = self.record(original).expect("the updated record is stored");
        let data = ActionData::Update(UpdateData {
            original_action_address: original.clone(),
            original_entry_address: record.action().entry_hash().expect("an entry's record").clone(),
            entry_type: record.action().entry_type().expect("an entry's record").clone(),
            entry_hash: EntryHash::with_data_sync(&entry),
        });
        let signed = self.author_action(agent, timestamp, data);
        [
            store_record_op(Record::new(signed.clone(), RecordEntry::Present(entry.clone()))),
            store_entry_op(signed.clone(), entry.clone()),
            Op::Update(Update::new(signed.clone(), Some(entry.clone())).expect("an Update action")),
            agent_activity_op(signed, Some(entry)),
        ]
    }

    /// Every op a `Delete` by `agent` of the stored entry record `original` produces:
    /// `[Op::CreateRecord, Op::Delete, Op::AgentActivity]`.
    pub fn delete_entry_ops(&self, agent: &TestAgent, original: &ActionHash, timestamp: Timestamp) -> [Op; 3] {
        let record = self.record(original).expect("the deleted record is stored");
        let data = ActionData::Delete(DeleteData {
            deletes_address: original.clone(),
            deletes_entry_address: record.action().entry_hash().expect("an entry's record").clone(),
        });
        let signed = self.author_action(agent, timestamp, data);
        [
            store_record_op(Record::new(signed.clone(), RecordEntry::NA)),
            Op::Delete(Delete::new(signed.clone()).expect("a Delete action")),
            agent_activity_op(signed, None),
        ]
    }

    /// Every op a `DeleteLink` by `agent` of the link `create_link` (a signed `CreateLink`,
    /// e.g. from [`Self::create_link_action`]) produces:
    /// `[Op::CreateRecord, Op::DeleteLink, Op::AgentActivity]`.
    pub fn delete_link_ops(&self, agent: &TestAgent, create_link: &SignedActionHashed, timestamp: Timestamp) -> [Op; 3] {
        let ActionData::CreateLink(link) = &create_link.action().data else {
            panic!("delete_link_ops needs a CreateLink action");
        };
        let data = ActionData::DeleteLink(DeleteLinkData {
            base_address: link.base_address.clone(),
            link_add_address: create_link.as_hash().clone(),
        });
        let signed = self.author_action(agent, timestamp, data);
        [
            store_record_op(Record::new(signed.clone(), RecordEntry::NA)),
            Op::DeleteLink(DeleteLink::new(signed.clone(), create_link.action().clone()).expect("a DeleteLink of that CreateLink")),
            agent_activity_op(signed, None),
        ]
    }
}

// --- single ops -----------------------------------------------------------------------------

/// The entry authority's op for a `Create`/`Update` (formerly StoreEntry).
pub fn store_entry_op(action: SignedActionHashed, entry: Entry) -> Op {
    Op::CreateEntry(CreateEntry::new(action, entry).expect("a Create or Update action"))
}

/// [`store_entry_op`] for a record that carries its entry.
pub fn store_entry_op_from_record(record: &Record) -> Op {
    let entry = record.entry().as_option().expect("a record with its entry").clone();
    store_entry_op(record.signed_action().clone(), entry)
}

/// The record authority's op (formerly StoreRecord).
pub fn store_record_op(record: Record) -> Op {
    Op::CreateRecord(CreateRecord { record })
}

/// The base authority's op for a `CreateLink` (formerly RegisterCreateLink).
pub fn register_create_link_op(create_link: SignedActionHashed) -> Op {
    Op::CreateLink(CreateLink::new(create_link).expect("a CreateLink action"))
}

/// The agent-activity authority's op for any action.
pub fn agent_activity_op(action: SignedActionHashed, cached_entry: Option<Entry>) -> Op {
    Op::AgentActivity(AgentActivity { action, cached_entry })
}

/// [`agent_activity_op`] for a record (with its entry cached, if it carries one).
pub fn agent_activity_op_from_record(record: &Record) -> Op {
    agent_activity_op(record.signed_action().clone(), record.entry().as_option().cloned())
}

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

// --- helpers for a zome's tests/validate.rs ---------------------------------------------------
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

/// Defines the verdict helpers of a zome's tests/validate.rs, bound to its `validate` callback
/// (`ripple_test_hdi::validate_verdicts!(validate);` at the top level of the test file):
/// `expect_valid(ops)`, `expect_invalid(ops, needles)`, `expect_unresolved(ops, missing)` and
/// `expect_not_valid(ops)`, each judging both forms of a create ([`FORMS`]); see
/// [`expect_valid_by`] and the others.
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

#[doc(hidden)]
pub mod __macro_support {
    pub use hdi::prelude::{ActionHash, Op};
}

/// Panics unless the test cases cover every value of a type (`covered`, e.g. the unit entry
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
/// `link_dangling_target_is_unresolved`. More tests per link type go in a leading
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

// --- HdiT -----------------------------------------------------------------------------------

impl HdiT for TestHdi {
    fn verify_signature(&self, input: VerifySignature) -> ExternResult<bool> {
        let raw: [u8; 32] = input
            .key
            .get_raw_32()
            .try_into()
            .map_err(|_| wasm_error!(WasmErrorInner::Host("agent key is not 32 bytes".into())))?;
        let Ok(key) = VerifyingKey::from_bytes(&raw) else {
            return Ok(false);
        };
        let signature = ed25519_dalek::Signature::from_bytes(&input.signature.0);
        Ok(key.verify(&input.data, &signature).is_ok())
    }

    fn must_get_entry(&self, input: MustGetEntryInput) -> ExternResult<EntryHashed> {
        let hash = input.into_inner();
        match self.state().entries.get(&hash) {
            Some(entry) => Ok(EntryHashed::with_pre_hashed(entry.clone(), hash)),
            None => Err(unresolved_dependency_error(hash)),
        }
    }

    fn must_get_action(&self, input: MustGetActionInput) -> ExternResult<SignedActionHashed> {
        let hash = input.into_inner();
        match self.record(&hash) {
            Some(record) => Ok(record.signed_action().clone()),
            None => Err(unresolved_dependency_error(hash)),
        }
    }

    fn must_get_valid_record(&self, input: MustGetValidRecordInput) -> ExternResult<Record> {
        let hash = input.into_inner();
        let found = self.state().records.get(&hash).cloned();
        found.ok_or_else(|| unresolved_dependency_error(hash))
    }

    fn must_get_agent_activity(&self, input: MustGetAgentActivityInput) -> ExternResult<Vec<AgentActivity>> {
        Err(wasm_error!(WasmErrorInner::Host(format!(
            "TestHdi does not implement must_get_agent_activity ({:?})",
            input.author
        ))))
    }

    fn dna_info(&self, _: ()) -> ExternResult<DnaInfo> {
        let zome_count = self.state().zome_id as usize + 1;
        Ok(DnaInfo {
            name: TEST_DNA_NAME.into(),
            hash: DnaHash::from_raw_32(vec![0xd7; 32]),
            modifiers: DnaModifiers { network_seed: "ripple-test".into(), properties: SerializedBytes::default() },
            zome_names: (0..zome_count).map(|i| format!("{TEST_ZOME_NAME}_{i}").into()).collect(),
        })
    }

    fn zome_info(&self, _: ()) -> ExternResult<ZomeInfo> {
        let state = self.state();
        Ok(ZomeInfo {
            name: TEST_ZOME_NAME.into(),
            id: ZomeIndex(state.zome_id),
            properties: SerializedBytes::default(),
            entry_defs: EntryDefs(Vec::new()),
            extern_fns: Vec::new(),
            zome_types: state.zome_types.clone(),
        })
    }

    fn trace(&self, msg: TraceMsg) -> ExternResult<()> {
        eprintln!("[trace] {msg:?}");
        Ok(())
    }

    fn x_salsa20_poly1305_decrypt(&self, _: XSalsa20Poly1305Decrypt) -> ExternResult<Option<XSalsa20Poly1305Data>> {
        Err(wasm_error!(WasmErrorInner::Host("TestHdi does not implement x_salsa20_poly1305_decrypt".into())))
    }

    fn x_25519_x_salsa20_poly1305_decrypt(
        &self,
        _: X25519XSalsa20Poly1305Decrypt,
    ) -> ExternResult<Option<XSalsa20Poly1305Data>> {
        Err(wasm_error!(WasmErrorInner::Host("TestHdi does not implement x_25519_x_salsa20_poly1305_decrypt".into())))
    }

    fn ed_25519_x_salsa20_poly1305_decrypt(&self, _: Ed25519XSalsa20Poly1305Decrypt) -> ExternResult<XSalsa20Poly1305Data> {
        Err(wasm_error!(WasmErrorInner::Host("TestHdi does not implement ed_25519_x_salsa20_poly1305_decrypt".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
