use super::*;

fn ops_of(w: &World, unit: UnitEntryTypes, entry: Entry) -> [Op; 2] {
    w.hdi.create_entry_ops_as(&w.node, unit, entry, at(0))
}

#[test]
fn rejects_a_capability_with_unknown_fields() {
    let w = world();
    expect_not_valid(ops_of(&w, UnitEntryTypes::NodeCapability, padded_entry(&capability(&w.node, &w.node_p2p))));
}

#[test]
fn rejects_a_heartbeat_with_unknown_fields() {
    let w = world();
    expect_not_valid(ops_of(&w, UnitEntryTypes::Heartbeat, padded_entry(&heartbeat(&w.node))));
}
