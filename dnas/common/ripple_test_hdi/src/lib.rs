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
        let hash = record.action_address().clone();
        let mut state = self.state();
        if let (Some(entry_hash), Some(entry)) = (record.action().entry_hash(), record.entry().as_option()) {
            state.entries.insert(entry_hash.clone(), entry.clone());
        }
        state.rejected.remove(&hash);
        state.records.insert(hash.clone(), record);
        hash
    }

    /// Stores a record the network judged invalid: `must_get_action` and `must_get_entry`
    /// return it, `must_get_valid_record` does not.
    pub fn store_rejected(&self, record: Record) -> ActionHash {
        let hash = record.action_address().clone();
        let mut state = self.state();
        if let (Some(entry_hash), Some(entry)) = (record.action().entry_hash(), record.entry().as_option()) {
            state.entries.insert(entry_hash.clone(), entry.clone());
        }
        state.records.remove(&hash);
        state.rejected.insert(hash.clone(), record);
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
        let record = self.app_entry_record(agent, zome_index, entry_index, entry, timestamp);
        [store_entry_op_from_record(&record), store_record_op(record)]
    }

    /// [`Self::create_entry_ops`] for a zome's typed entry (e.g. `EntryTypes::Job(job)`).
    pub fn typed_create_entry_ops<E>(&self, agent: &TestAgent, entry: &E, timestamp: Timestamp) -> [Op; 2]
    where
        for<'a> EntryType: TryFrom<&'a E, Error = WasmError>,
        for<'a> Entry: TryFrom<&'a E, Error = WasmError>,
    {
        let record = self.typed_entry_record(agent, entry, timestamp);
        [store_entry_op_from_record(&record), store_record_op(record)]
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
        let signed = self.create_link_action(agent, zome_index, link_type, base, target, tag, timestamp);
        [register_create_link_op(signed.clone()), store_record_op(Record::new(signed, RecordEntry::NA))]
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
        let scoped = ScopedLinkType::try_from(link_type).expect("link type in scope of the installed zome types");
        self.create_link_ops(agent, scoped.zome_index.0, scoped.zome_type.0, base, target, tag, timestamp)
    }
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
