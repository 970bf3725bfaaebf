//! Update and delete records and their ops, for the "append-only" tests.
use super::*;

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
