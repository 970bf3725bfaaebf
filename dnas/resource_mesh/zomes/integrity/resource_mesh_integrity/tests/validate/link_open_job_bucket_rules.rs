use super::*;

const RULE: &str = "must start at the bucket of the period the job's claim window closes in";

fn bucket_of(ms: i64) -> AnyLinkableHash {
    open_job_bucket_hash(open_job_bucket(at(ms))).unwrap().into()
}

/// A job its author assigns (claim window 0) is never open, so it is never in a bucket.
#[test]
fn rejects_an_assigned_job() {
    let w = world();
    let job = w.posted_job();
    expect_invalid(w.tagged_link(&w.requester, LinkTypes::OpenJobBucket, bucket_of(0), job.into(), open_job_tag(at(0))), &["must point at an open job (claim_window_ms > 0)"]);
}

/// Buckets are 10-minute periods of the closing time: T0 is 200 s into its period, so a job
/// written at T0 whose window is 399.999 s closes in T0's period, one of 400 s in the next.
#[test]
fn bucket_follows_the_closing_time() {
    let w = world();
    assert_eq!(open_job_bucket(at(400_000)), open_job_bucket(at(399_999)) + 1, "the set-up crosses a period");
    assert_eq!(open_job_bucket(at(0)), open_job_bucket(at(399_999)));
    for (window, closes) in [(399_999, 399_999), (400_000, 400_000)] {
        let job = w.store(&w.requester, EntryTypes::Job(Job { claim_window_ms: window, ..job() }), 0);
        let link = |base| w.tagged_link(&w.requester, LinkTypes::OpenJobBucket, base, job.clone().into(), open_job_tag(at(closes)));
        expect_valid(link(bucket_of(closes)));
        let other = if window == 399_999 { bucket_of(400_000) } else { bucket_of(399_999) };
        expect_invalid(link(other), &[RULE]);
    }
}

#[test]
fn rejects_other_bases() {
    let (w, c) = link_case(LinkTypes::OpenJobBucket);
    for base in [
        bucket_of(60_000 - 600_000),
        AnyLinkableHash::from(all_jobs_anchor_hash().unwrap()),
        AnyLinkableHash::from(w.requester.pub_key()),
        AnyLinkableHash::from(c.target.clone()),
    ] {
        expect_invalid(w.case_link(&c, &c.author, base, c.target.clone().into()), &[RULE]);
    }
}

/// The tag is the closing time to the microsecond, 8 bytes big-endian: a reader skips closed
/// jobs by it, so a wrong one would hide an open job or make a closed one look open.
#[test]
fn rejects_a_tag_other_than_the_closing_time() {
    let (w, c) = link_case(LinkTypes::OpenJobBucket);
    let closes = at(60_000).as_micros();
    for tag in [
        LinkTag::new(Vec::<u8>::new()),
        LinkTag::new((closes + 1).to_be_bytes().to_vec()),
        LinkTag::new((closes - 1).to_be_bytes().to_vec()),
        LinkTag::new(closes.to_le_bytes().to_vec()),
        LinkTag::new([closes.to_be_bytes().to_vec(), vec![0]].concat()),
        LinkTag::new(vec![0xff; 512]),
    ] {
        expect_invalid(w.tagged_link(&c.author, c.link, c.base.clone(), c.target.clone().into(), tag), &["an OpenJobBucket tag must be the time the job's claim window closes"]);
    }
}

#[test]
fn tag_round_trips() {
    let closes = at(60_000);
    assert_eq!(open_job_tag_closes(&open_job_tag(closes)), Some(closes));
    assert_eq!(open_job_tag_closes(&LinkTag::new(vec![1, 2, 3])), None);
}
