//! Single ops built from actions and records.
use hdi::prelude::*;

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
