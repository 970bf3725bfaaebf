use super::*;

/// Both ops of the node writing its capability, edited.
fn check(edit: impl FnOnce(&mut NodeCapability)) -> [Op; 2] {
    let w = world();
    let mut c = capability(&w.node, &w.node_p2p);
    edit(&mut c);
    w.create(&w.node, EntryTypes::NodeCapability(c), 0)
}

type F64Field = (&'static str, f64, f64, fn(&mut NodeCapability, f64));

/// Every float field: its name in the zome's reasons, its bounds (for the test capability,
/// whose memory.total_gb is 64) and a setter.
fn f64_fields() -> Vec<F64Field> {
    let total = capability(&test_agent(1), &test_agent(101)).memory.total_gb;
    vec![
        ("compute.ram_gb", 0.0, MAX_GB, |c, v| c.compute.ram_gb = v),
        ("compute.gpu.vram_gb", 0.0, MAX_GB, |c, v| c.compute.gpu.as_mut().unwrap().vram_gb = v),
        ("storage.local_ssd_gb", 0.0, MAX_GB, |c, v| c.storage.local_ssd_gb = v),
        ("storage.ipfs_pinned_gb", 0.0, MAX_GB, |c, v| c.storage.ipfs_pinned_gb = v),
        ("inference.tokens_per_second", 0.0, MAX_TOKENS_PER_SECOND, |c, v| c.inference.tokens_per_second = v),
        ("memory.total_gb", 0.0, MAX_GB, |c, v| {
            c.memory.total_gb = v;
            c.memory.available_gb = 0.0;
        }),
        ("memory.available_gb", 0.0, total, |c, v| c.memory.available_gb = v),
        // The zome writes this bound as a literal, not a constant.
        ("network.bandwidth_mbps", 0.0, 1.0e7, |c, v| c.network.bandwidth_mbps = v),
        ("load.cpu_percent", 0.0, 100.0, |c, v| c.load.cpu_percent = v),
        ("load.gpu_percent", 0.0, 100.0, |c, v| c.load.gpu_percent = v),
        ("load.memory_percent", 0.0, 100.0, |c, v| c.load.memory_percent = v),
    ]
}

type U32Field = (&'static str, u64, u64, fn(&mut NodeCapability, u32));

fn u32_fields() -> Vec<U32Field> {
    vec![
        ("compute.cpu_cores", 1, MAX_CPU_CORES, |c, v| c.compute.cpu_cores = v),
        ("inference.max_batch_size", 1, MAX_BATCH_SIZE, |c, v| c.inference.max_batch_size = v),
        ("availability.max_concurrent_jobs", 0, MAX_CONCURRENT_JOBS, |c, v| c.availability.max_concurrent_jobs = v),
    ]
}

type StringField = (&'static str, usize, fn(&mut NodeCapability, String));

/// Every bounded text field (1..=max bytes) but the peer id, which has its own tests.
fn string_fields() -> Vec<StringField> {
    vec![
        ("agent_name", MAX_NAME_LEN, |c, s| c.agent_name = s),
        ("hardware_class", MAX_LABEL_LEN, |c, s| c.hardware_class = s),
        ("compute.cpu_arch", MAX_LABEL_LEN, |c, s| c.compute.cpu_arch = s),
        ("compute.gpu.vendor", MAX_LABEL_LEN, |c, s| c.compute.gpu.as_mut().unwrap().vendor = s),
        ("compute.gpu.model", MAX_MODEL_NAME_LEN, |c, s| c.compute.gpu.as_mut().unwrap().model = s),
        ("network.latency_region", MAX_LABEL_LEN, |c, s| c.network.latency_region = s),
        ("model.name", MAX_MODEL_NAME_LEN, |c, s| c.inference.models_loaded[1].name = s),
        ("model.cid", MAX_CID_LEN, |c, s| c.inference.models_loaded[1].cid = Some(s)),
        // Signatures cover the peer id and the agent key only, so the addresses can change.
        ("peer.multiaddrs[]", MAX_MULTIADDR_LEN, |c, s| c.peer.multiaddrs[1] = format!("/{}", &s[..s.len().saturating_sub(1)])),
    ]
}

#[test]
fn valid() {
    expect_valid(check(|_| {}));
    expect_valid(check(|c| {
        c.compute.gpu = None;
        c.inference.backend = "cpu".into();
    }));
    expect_valid(check(|c| c.inference.models_loaded.clear()));
    expect_valid(check(|c| c.peer.multiaddrs.clear()));
    // A model may be named by both keys.
    expect_valid(check(|c| c.inference.models_loaded[0].cid = Some(MODEL_CID.into())));
    for status in AVAILABILITY {
        expect_valid(check(|c| c.availability.status = status.into()));
    }
}

#[test]
fn valid_at_every_bound() {
    // Each number at its lower and its upper bound (float fields together: available_gb's
    // upper bound is total_gb).
    expect_valid(check(|c| {
        for (_, min, _, set) in f64_fields() {
            set(c, min);
        }
        for (_, min, _, set) in u32_fields() {
            set(c, min as u32);
        }
    }));
    expect_valid(check(|c| {
        for (name, _, max, set) in f64_fields() {
            if name != "memory.available_gb" {
                set(c, max);
            }
        }
        c.memory.available_gb = MAX_GB;
        for (_, _, max, set) in u32_fields() {
            set(c, max as u32);
        }
    }));
    // Each text at its longest, lists at their longest.
    for (_, max, set) in string_fields() {
        expect_valid(check(|c| set(c, "a".repeat(max))));
    }
    expect_valid(check(|c| c.inference.models_loaded = vec![model_by_sha256(); MAX_MODELS]));
    expect_valid(check(|c| c.peer.multiaddrs = vec!["/ip4/192.0.2.10/tcp/4001".into(); MAX_MULTIADDRS]));
}

/// The author writes a capability naming another agent (with that agent's valid binding),
/// or another agent writes one naming the node.
#[test]
fn rejects_an_author_other_than_the_agent() {
    let w = world();
    let others = capability(&w.other, &w.other_p2p);
    expect_invalid(w.create(&w.node, EntryTypes::NodeCapability(others), 0), &["can only be written by the agent it describes"]);
    let nodes = capability(&w.node, &w.node_p2p);
    expect_invalid(w.create(&w.other, EntryTypes::NodeCapability(nodes), 0), &["can only be written by the agent it describes"]);
}

#[test]
fn rejects_floats_out_of_range_or_not_finite() {
    for (field, min, max, set) in f64_fields() {
        for value in bad_f64_values(min, max) {
            expect_invalid_with(check(|c| set(c, value)), &f64_needles(field, min, max, value));
        }
    }
}

#[test]
fn rejects_available_memory_over_total() {
    let total = 64.0;
    expect_invalid_with(check(|c| c.memory.available_gb = total + 1.0), &f64_needles("memory.available_gb", 0.0, total, total + 1.0));
}

#[test]
fn rejects_integers_out_of_range() {
    for (field, min, max, set) in u32_fields() {
        let mut values = vec![max + 1, u64::from(u32::MAX)];
        if min > 0 {
            values.push(min - 1);
        }
        for value in values {
            expect_invalid(check(|c| set(c, value as u32)), &[field, &format!("{min}..={max}"), &format!("got {value}")]);
        }
    }
}

#[test]
fn rejects_oversize_or_empty_text() {
    for (field, max, set) in string_fields() {
        expect_invalid(check(|c| set(c, "a".repeat(max + 1))), &[field, &format!("1..={max} bytes"), &format!("got {}", max + 1)]);
        if field == "peer.multiaddrs[]" {
            expect_invalid(check(|c| c.peer.multiaddrs[1] = String::new()), &[field, "got 0"]);
        } else {
            expect_invalid(check(|c| set(c, String::new())), &[field, "got 0"]);
        }
    }
}

/// Lengths are bytes, not characters.
#[test]
fn counts_text_length_in_bytes() {
    let name = "é".repeat(MAX_NAME_LEN / 2 + 1);
    let bytes = name.len();
    expect_invalid(check(|c| c.agent_name = name), &["agent_name", &format!("got {bytes}")]);
}

#[test]
fn rejects_an_unknown_availability_status() {
    for status in ["sleeping", "Online", ""] {
        expect_invalid(check(|c| c.availability.status = status.into()), &["availability.status", &format!("{AVAILABILITY:?}"), &format!("got {status:?}")]);
    }
}

#[test]
fn rejects_an_unknown_backend_and_a_gpu_backend_without_a_gpu() {
    for backend in ["cpu", "cuda", "vulkan", "metal"] {
        expect_valid(check(|c| c.inference.backend = backend.into()));
    }
    for backend in ["rocm", "CUDA", ""] {
        expect_invalid(check(|c| c.inference.backend = backend.into()), &["inference.backend", &format!("{BACKENDS:?}"), &format!("got {backend:?}")]);
    }
    expect_invalid(check(|c| c.compute.gpu = None), &["inference.backend \"cuda\" needs a compute.gpu"]);
    expect_valid(check(|c| {
        c.compute.gpu = None;
        c.inference.backend = "cpu".into();
    }));
}

#[test]
fn rejects_a_model_sha256_that_is_not_lowercase_hex() {
    for bad in [SHA256_HEX.to_uppercase(), SHA256_HEX[..63].to_string(), format!("{SHA256_HEX}0"), "z".repeat(64), String::new()] {
        expect_invalid(check(|c| c.inference.models_loaded[0].sha256 = Some(bad)), &["model.sha256", "lowercase hex sha256"]);
    }
}

#[test]
fn rejects_a_model_without_a_key() {
    expect_invalid(check(|c| c.inference.models_loaded[1].cid = None), &["needs a sha256 or a cid", "llama-3.2-1b"]);
}

#[test]
fn rejects_too_many_models_or_addresses() {
    expect_invalid(
        check(|c| c.inference.models_loaded = vec![model_by_sha256(); MAX_MODELS + 1]),
        &["inference.models_loaded", &format!("at most {MAX_MODELS} items, got {}", MAX_MODELS + 1)],
    );
    expect_invalid(
        check(|c| c.peer.multiaddrs = vec!["/ip4/192.0.2.10/tcp/4001".into(); MAX_MULTIADDRS + 1]),
        &["peer.multiaddrs", &format!("at most {MAX_MULTIADDRS} items, got {}", MAX_MULTIADDRS + 1)],
    );
}

#[test]
fn rejects_an_address_that_is_not_a_multiaddr() {
    expect_invalid(check(|c| c.peer.multiaddrs[0] = "192.0.2.10:4001".into()), &["peer.multiaddrs[]", "starting with '/'", "192.0.2.10:4001"]);
}

/// Every text field refuses control characters, anywhere in it: C0, DEL and C1 alike (an escape
/// sequence in a peer's name would otherwise reach every reader's terminal).
#[test]
fn rejects_control_characters_in_text() {
    for (field, _, set) in string_fields() {
        for bad in CONTROL_TEXTS {
            expect_invalid(check(|c| set(c, format!("a{bad}"))), &[field, "control characters"]);
        }
    }
}
