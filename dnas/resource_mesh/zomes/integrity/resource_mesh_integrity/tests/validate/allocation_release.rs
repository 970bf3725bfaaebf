use super::*;

/// The requester's allocation, naming the worker as provider.
fn allocated(w: &World) -> ActionHash {
    w.store(&w.requester, EntryTypes::Allocation(allocation(Some(&w.worker))), 0)
}

#[test]
fn valid_by_requester_or_provider() {
    let w = world();
    let alloc = allocated(&w);
    expect_valid(w.create(&w.requester, EntryTypes::AllocationRelease(release(&alloc)), 1_000));
    expect_valid(w.create(&w.worker, EntryTypes::AllocationRelease(release(&alloc)), 1_000));
}

#[test]
fn rejects_an_author_other_than_requester_or_provider() {
    let w = world();
    let alloc = allocated(&w);
    expect_invalid(w.create(&w.stranger, EntryTypes::AllocationRelease(release(&alloc)), 1_000), &["only the allocation's requester or its provider"]);
    // Without a provider, only the requester.
    let unnamed = w.store(&w.requester, EntryTypes::Allocation(allocation(None)), 0);
    expect_invalid(w.create(&w.worker, EntryTypes::AllocationRelease(release(&unnamed)), 1_000), &["only the allocation's requester or its provider"]);
}

#[test]
fn rejects_oversize_or_empty_reason() {
    let w = world();
    let alloc = allocated(&w);
    let long = AllocationRelease { reason: "r".repeat(MAX_REASON_LEN + 1), ..release(&alloc) };
    expect_invalid(w.create(&w.requester, EntryTypes::AllocationRelease(long), 1_000), &["reason", &format!("got {}", MAX_REASON_LEN + 1)]);
    let empty = AllocationRelease { reason: String::new(), ..release(&alloc) };
    expect_invalid(w.create(&w.requester, EntryTypes::AllocationRelease(empty), 1_000), &["reason", "got 0"]);
}

#[test]
fn rejects_an_allocation_reference_to_another_type() {
    let w = world();
    let job = w.posted_job();
    expect_invalid(w.create(&w.requester, EntryTypes::AllocationRelease(release(&job)), 1_000), &["release.allocation", "not a Allocation"]);
}

#[test]
fn dangling_allocation_is_unresolved() {
    let w = world();
    let missing = w.unstored(&w.requester, EntryTypes::Allocation(allocation(None)));
    expect_unresolved(w.create(&w.requester, EntryTypes::AllocationRelease(release(&missing)), 1_000), &missing);
}
