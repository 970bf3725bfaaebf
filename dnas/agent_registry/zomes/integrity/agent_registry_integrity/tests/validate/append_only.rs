use super::*;

const NOT_ALLOWED: &str = "agent_registry does not allow this operation";
const APPEND_ONLY: &str = "agent_registry records are append-only";

/// The record, entry and update authorities' ops say "not allowed", the agent activity
/// authority says "append-only".
#[track_caller]
fn expect_all_rejected<const N: usize>(ops: [Op; N]) {
    expect_all_rejected_by(validate, ops, NOT_ALLOWED, APPEND_ONLY)
}

#[test]
fn rejects_updating_a_capability() {
    let w = world();
    let original = w.node_capability();
    let mut next = capability(&w.node, &w.node_p2p);
    next.availability.status = "busy".into();
    let entry = Entry::try_from(&EntryTypes::NodeCapability(next)).unwrap();
    expect_all_rejected(w.hdi.update_entry_ops(&w.node, &original, entry, at(1_000)));
}

#[test]
fn rejects_updating_a_heartbeat() {
    let w = world();
    let original = w.store(&w.node, EntryTypes::Heartbeat(heartbeat(&w.node)), 0);
    let entry = Entry::try_from(&EntryTypes::Heartbeat(Heartbeat { status: "offline".into(), ..heartbeat(&w.node) })).unwrap();
    expect_all_rejected(w.hdi.update_entry_ops(&w.node, &original, entry, at(1_000)));
}

#[test]
fn rejects_deleting_a_capability_or_heartbeat() {
    let w = world();
    let capability = w.node_capability();
    expect_all_rejected(w.hdi.delete_entry_ops(&w.node, &capability, at(1_000)));
    let heartbeat = w.store(&w.node, EntryTypes::Heartbeat(heartbeat(&w.node)), 0);
    expect_all_rejected(w.hdi.delete_entry_ops(&w.node, &heartbeat, at(1_000)));
}

/// The agent activity authority passes creates (their content is judged by the other ops).
#[test]
fn agent_activity_accepts_creates() {
    let w = world();
    let create = w.hdi.typed_entry_record(&w.node, &EntryTypes::NodeCapability(capability(&w.node, &w.node_p2p)), at(0));
    assert_eq!(validate(agent_activity_op_from_record(&create)), Ok(ValidateCallbackResult::Valid));
    let capability = create.action_address().clone();
    let link = w.hdi.typed_create_link_action(&w.node, LinkTypes::AllNodes, all_nodes_anchor_hash().unwrap(), capability, (), at(1_000));
    assert_eq!(validate(agent_activity_op(link, None)), Ok(ValidateCallbackResult::Valid));
}

pub(super) fn link_delete_is_rejected(link: LinkTypes) {
    let (w, c) = super::link_case(link);
    let create = w.hdi.typed_create_link_action(&c.author, c.link, c.base, c.target, c.tag, at(10_000));
    w.hdi.store_action(&create);
    expect_all_rejected(w.hdi.delete_link_ops(&c.author, &create, at(20_000)));
}
