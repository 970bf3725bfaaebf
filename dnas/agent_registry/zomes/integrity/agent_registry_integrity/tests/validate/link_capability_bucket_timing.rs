use super::*;

fn capabilities(bucket: i64) -> AnyLinkableHash {
    capability_bucket_hash(bucket).unwrap().into()
}

/// A refresh: the capability was written long before, the link goes in the bucket of the
/// link's own time (or the one before it: the writer reads its clock just before linking).
#[test]
fn bucket_follows_the_links_timestamp_not_the_capabilitys() {
    let w = world();
    let capability = w.node_capability();
    let link_ms = 3 * 3600 * 1000;
    let bucket = capability_bucket(at(link_ms));
    assert!(bucket > capability_bucket(at(0)) + 2, "the set-up links long after the capability");
    let link = |base| w.link_at(&w.node, LinkTypes::CapabilityBucket, base, capability.clone().into(), ().into(), link_ms);
    expect_valid(link(capabilities(bucket)));
    expect_valid(link(capabilities(bucket - 1)));
    let rule = "a CapabilityBucket link must start at the bucket of its own timestamp (or the one before)";
    expect_invalid(link(capabilities(capability_bucket(at(0)))), &[rule]);
    expect_invalid(link(capabilities(bucket - 2)), &[rule]);
    expect_invalid(link(capabilities(bucket + 1)), &[rule]);
}

/// Buckets are 10 minutes: the first millisecond of a bucket is in it, the one before is not.
#[test]
fn buckets_are_ten_minutes() {
    let start = (T0_MICROS / 1_000_000).div_euclid(CAPABILITY_BUCKET_SECONDS) * CAPABILITY_BUCKET_SECONDS + CAPABILITY_BUCKET_SECONDS;
    let first = Timestamp::from_micros(start * 1_000_000);
    let last_before = Timestamp::from_micros(start * 1_000_000 - 1);
    assert_eq!(capability_bucket(first), capability_bucket(last_before) + 1);
    assert_eq!(capability_bucket(Timestamp::from_micros((start + CAPABILITY_BUCKET_SECONDS) * 1_000_000 - 1)), capability_bucket(first));
}

#[test]
fn rejects_other_bases() {
    let (w, c) = link_case(LinkTypes::CapabilityBucket);
    let bucket = capability_bucket(at(LINKED_AT_MS));
    for base in [
        AnyLinkableHash::from(heartbeat_bucket_hash(heartbeat_bucket(at(LINKED_AT_MS))).unwrap()),
        AnyLinkableHash::from(heartbeat_bucket_hash(bucket).unwrap()),
        AnyLinkableHash::from(all_nodes_anchor_hash().unwrap()),
        AnyLinkableHash::from(w.node.pub_key()),
    ] {
        expect_invalid(w.case_link(&c, &c.author, base, c.target.clone().into()), &[c.base_rule]);
    }
}
