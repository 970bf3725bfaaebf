//! `HdiT` for [`TestHdi`]: what `validate` reaches through the HDI (must_get_*, zome info,
//! signature checks), answered from the in-memory state.
use super::*;

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
