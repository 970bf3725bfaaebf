use super::*;

fn check(edit: impl FnOnce(&mut Heartbeat)) -> [Op; 2] {
    let w = world();
    let mut h = heartbeat(&w.node);
    edit(&mut h);
    w.create(&w.node, EntryTypes::Heartbeat(h), 0)
}

type F64Field = (&'static str, fn(&mut Heartbeat, f64));

fn load_fields() -> [F64Field; 3] {
    [
        ("load.cpu_percent", |h, v| h.load.cpu_percent = v),
        ("load.gpu_percent", |h, v| h.load.gpu_percent = v),
        ("load.memory_percent", |h, v| h.load.memory_percent = v),
    ]
}

#[test]
fn valid() {
    expect_valid(check(|_| {}));
    for status in HEARTBEAT_STATUS {
        expect_valid(check(|h| h.status = status.into()));
    }
    expect_valid(check(|h| h.active_jobs = 0));
    expect_valid(check(|h| h.active_jobs = MAX_CONCURRENT_JOBS as u32));
    for bound in [0.0, 100.0] {
        expect_valid(check(|h| {
            for (_, set) in load_fields() {
                set(h, bound);
            }
        }));
    }
}

/// A heartbeat does not need a capability first (nodes may start beating before publishing).
#[test]
fn valid_without_a_capability() {
    let w = world();
    expect_valid(w.create(&w.other, EntryTypes::Heartbeat(heartbeat(&w.other)), 0));
}

#[test]
fn rejects_an_author_other_than_the_agent() {
    let w = world();
    expect_invalid(w.create(&w.other, EntryTypes::Heartbeat(heartbeat(&w.node)), 0), &["a Heartbeat can only be written by the agent it describes"]);
    expect_invalid(w.create(&w.node, EntryTypes::Heartbeat(heartbeat(&w.other)), 0), &["a Heartbeat can only be written by the agent it describes"]);
}

/// Only "online" and "offline": "busy" and "draining" are capability states, not heartbeats.
#[test]
fn rejects_an_unknown_status() {
    for status in ["busy", "draining", "Online", ""] {
        expect_invalid(check(|h| h.status = status.into()), &["status", &format!("{HEARTBEAT_STATUS:?}"), &format!("got {status:?}")]);
    }
}

#[test]
fn rejects_load_out_of_range_or_not_finite() {
    for (field, set) in load_fields() {
        for value in bad_f64_values(0.0, 100.0) {
            expect_invalid_with(check(|h| set(h, value)), &f64_needles(field, 0.0, 100.0, value));
        }
    }
}

#[test]
fn rejects_active_jobs_over_max() {
    for value in [MAX_CONCURRENT_JOBS + 1, u64::from(u32::MAX)] {
        expect_invalid(check(|h| h.active_jobs = value as u32), &["active_jobs", &format!("0..={MAX_CONCURRENT_JOBS}"), &format!("got {value}")]);
    }
}
