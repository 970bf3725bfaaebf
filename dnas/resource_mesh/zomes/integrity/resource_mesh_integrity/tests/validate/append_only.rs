use super::*;

fn update_of_a_job(w: &World) -> (SignedActionHashed, Entry) {
    let original = w.posted_job();
    let original_entry = must_get_valid_record(original.clone()).unwrap().action().entry_hash().unwrap().clone();
    let entry = Entry::try_from(&EntryTypes::Job(Job { trace_id: "trace-2".into(), ..job() })).unwrap();
    let data = ActionData::Update(UpdateData {
        original_action_address: original,
        original_entry_address: original_entry,
        entry_type: EntryType::try_from(&EntryTypes::Job(job())).unwrap(),
        entry_hash: EntryHash::with_data_sync(&entry),
    });
    (w.hdi.author_action(&w.requester, at(1_000), data), entry)
}

#[test]
fn rejects_an_update() {
    let w = world();
    let (update, entry) = update_of_a_job(&w);
    let record = Record::new(update.clone(), RecordEntry::Present(entry.clone()));
    for op in [store_record_op(record), store_entry_op(update, entry)] {
        match validate(op) {
            Ok(ValidateCallbackResult::Invalid(reason)) => assert!(reason.contains("does not allow"), "{reason}"),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }
}

#[test]
fn agent_activity_rejects_an_update_and_accepts_a_create() {
    let w = world();
    let (update, entry) = update_of_a_job(&w);
    match validate(agent_activity_op(update, Some(entry))) {
        Ok(ValidateCallbackResult::Invalid(reason)) => assert!(reason.contains("append-only"), "{reason}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let create = w.hdi.typed_entry_record(&w.requester, &EntryTypes::Job(job()), at(2_000));
    assert_eq!(validate(agent_activity_op_from_record(&create)), Ok(ValidateCallbackResult::Valid));
}
