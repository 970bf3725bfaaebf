use super::*;

fn ops_of(w: &World, unit: UnitEntryTypes, entry: Entry) -> [Op; 2] {
    w.hdi.create_entry_ops_as(&w.registrar, unit, entry, at(0))
}

#[test]
fn rejects_an_artifact_with_unknown_fields() {
    let w = world();
    expect_not_valid(ops_of(&w, UnitEntryTypes::Artifact, padded_entry(&artifact(&w.registrar))));
}

#[test]
fn rejects_a_provider_record_with_unknown_fields() {
    let w = world();
    expect_not_valid(ops_of(&w, UnitEntryTypes::ProviderRecord, padded_entry(&provider(&w.registrar))));
}
