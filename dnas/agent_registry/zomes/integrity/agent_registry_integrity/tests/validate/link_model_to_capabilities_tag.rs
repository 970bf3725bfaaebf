use super::*;

fn check(tag: impl Into<Vec<u8>>, base_key: &str) -> [Op; 2] {
    let (w, c) = link_case(LinkTypes::ModelToCapabilities);
    let base = model_index_hash(base_key).unwrap().into();
    w.tagged_link(&c.author, c.link, base, c.target.into(), LinkTag::new(tag.into()))
}

/// A model is indexed under each of its keys.
#[test]
fn valid_by_sha256_or_cid() {
    expect_valid(check(SHA256_HEX, SHA256_HEX));
    expect_valid(check(MODEL_CID, MODEL_CID));
}

#[test]
fn rejects_a_tag_that_is_not_utf8() {
    expect_invalid(check(vec![0xff, 0xfe], SHA256_HEX), &["a ModelToCapabilities tag must be the model key (utf-8)"]);
}

/// Base and tag agree but the capability does not hold that model (a node cannot list itself
/// under a model it lacks); a model's name is not one of its keys.
#[test]
fn rejects_a_model_the_capability_does_not_hold() {
    for key in [OTHER_SHA256_HEX, "qwen2.5-coder-0.5b", ""] {
        expect_invalid(check(key, key), &[&format!("the linked capability does not hold model {key}")]);
    }
}

/// The base must follow the tag, not just be some model the capability holds.
#[test]
fn rejects_a_base_of_another_key_than_the_tag() {
    expect_invalid(check(SHA256_HEX, MODEL_CID), &["must start at the index entry of the model in its tag"]);
    expect_invalid(check(MODEL_CID, SHA256_HEX), &["must start at the index entry of the model in its tag"]);
}

/// The wrong base is caught before the target is fetched: no retry for a bad base.
#[test]
fn rejects_a_wrong_base_even_with_a_dangling_target() {
    let (w, c) = link_case(LinkTypes::ModelToCapabilities);
    w.hdi.remove(&c.target);
    expect_invalid(w.case_link(&c, &c.author, c.wrong_base.clone(), c.target.clone().into()), &[c.base_rule]);
}
