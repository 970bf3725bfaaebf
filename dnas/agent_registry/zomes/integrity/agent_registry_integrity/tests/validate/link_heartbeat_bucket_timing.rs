use super::*;

fn bucket_hash(at: Timestamp) -> AnyLinkableHash {
    heartbeat_bucket_hash(heartbeat_bucket(at)).unwrap().into()
}

/// The bucket is the heartbeat's minute, not the link's: a heartbeat in the last
/// millisecond of a minute, linked in the next minute.
#[test]
fn bucket_follows_the_heartbeats_timestamp() {
    let w = world();
    let hb = w.store(&w.node, EntryTypes::Heartbeat(heartbeat(&w.node)), END_OF_T0_MINUTE_MS);
    let link_ms = END_OF_T0_MINUTE_MS + 1;
    assert_eq!(heartbeat_bucket(at(link_ms)), heartbeat_bucket(at(END_OF_T0_MINUTE_MS)) + 1, "the set-up crosses a minute");
    let link = |base| w.link_at(&w.node, LinkTypes::HeartbeatBucket, base, hb.clone().into(), ().into(), link_ms);
    expect_valid(link(bucket_hash(at(END_OF_T0_MINUTE_MS))));
    expect_invalid(link(bucket_hash(at(link_ms))), &["must start at the bucket of the heartbeat's timestamp"]);
}

#[test]
fn rejects_neighbouring_buckets_and_other_bases() {
    let (w, c) = link_case(LinkTypes::HeartbeatBucket);
    let bucket = heartbeat_bucket(at(5_000));
    for base in [
        AnyLinkableHash::from(heartbeat_bucket_hash(bucket - 1).unwrap()),
        AnyLinkableHash::from(all_nodes_anchor_hash().unwrap()),
        AnyLinkableHash::from(w.node.pub_key()),
        AnyLinkableHash::from(c.target.clone()),
    ] {
        expect_invalid(w.case_link(&c, &c.author, base, c.target.clone().into()), &["must start at the bucket of the heartbeat's timestamp"]);
    }
}
