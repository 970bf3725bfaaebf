// The per-peer state of the libp2p seam stays bounded: stream/byte budgets and strikes are dropped
// when a peer holds nothing, bound peers past the cap lose the oldest disconnected entries, and
// the deny list does not grow past its cap. Pure units: no libp2p node.
import { describe as suite, expect, it } from "vitest";
import { BoundPeers } from "../src/p2p/bound-peers.ts";
import { defaultInboundLimits, PeerBudgets } from "../src/p2p/peer-budget.ts";
import { PeerDenyList } from "../src/p2p/peer-deny-list.ts";

suite("p2p peer maps", () => {
  it("budgets: streams and bytes are bounded per peer, and a peer holding nothing has no entry", () => {
    const budgets = new PeerBudgets({ ...defaultInboundLimits, maxStreamsPerPeer: 2, maxBytesPerPeer: 100, maxWaitingPerPeer: 1 });
    const a = budgets.openStream("a")!;
    const b = budgets.openStream("a")!;
    expect(budgets.openStream("a")).toBeUndefined();
    expect(budgets.openStream("other")).toBeDefined(); // per peer, not global
    expect(a.reserve(60)).toBe(true);
    expect(b.reserve(60)).toBe(false);
    expect(b.reserve(40)).toBe(true);
    expect(a.startWaiting()).toBe(true);
    expect(b.startWaiting()).toBe(false);
    expect(budgets.held("a")).toEqual({ streams: 2, bytes: 100, waiting: 1 });
    a.release();
    a.release(); // idempotent
    expect(budgets.held("a")).toEqual({ streams: 1, bytes: 40, waiting: 0 });
    b.release();
    expect(budgets.held("a")).toEqual({ streams: 0, bytes: 0, waiting: 0 });
    budgets.forget("other");
    // "other" still holds its lease: it keeps its entry until released.
    expect(budgets.trackedPeers()).toBe(1);
  });

  it("budgets: request bytes of all peers together are bounded too, and released bytes free the shared budget", () => {
    const budgets = new PeerBudgets({ ...defaultInboundLimits, maxBytesPerPeer: 100, maxBytesAllPeers: 250 });
    const leases = ["p1", "p2", "p3"].map((p) => budgets.openStream(p)!);
    expect(leases[0]!.reserve(100)).toBe(true);
    expect(leases[1]!.reserve(100)).toBe(true);
    expect(leases[2]!.reserve(60)).toBe(false); // each within its own 100, but 260 > 250 in all
    expect(leases[2]!.reserve(50)).toBe(true);
    leases[0]!.release();
    expect(leases[2]!.reserve(50)).toBe(true);
    expect(budgets.held("p3").bytes).toBe(100);
  });

  it("strikes: the Nth unbound refusal within the window says deny; old strikes expire; forget drops them", () => {
    let now = 0;
    const budgets = new PeerBudgets({ ...defaultInboundLimits, unboundStrikes: 3, strikeWindowMs: 1_000 }, () => now);
    expect(budgets.strikeUnbound("p")).toBe(false);
    expect(budgets.strikeUnbound("p")).toBe(false);
    now = 2_000; // the first two are out of the window
    expect(budgets.strikeUnbound("p")).toBe(false);
    expect(budgets.strikeUnbound("p")).toBe(false);
    expect(budgets.strikeUnbound("p")).toBe(true);
    budgets.forget("p");
    expect(budgets.trackedPeers()).toBe(0);
    // Strike records of many peers do not pile up without bound.
    for (let i = 0; i < 10_000; i++) budgets.strikeUnbound(`peer-${i}`);
    expect(budgets.trackedPeers()).toBeLessThanOrEqual(4096);
  });

  it("bound peers: past the cap, disconnected peers with the oldest lastSeen go; connected ones stay", () => {
    let now = 0;
    const bound = new BoundPeers(3, () => now);
    for (const id of ["old-connected", "old", "mid", "new"]) {
      now++;
      bound.bind(id, new Uint8Array([1]));
    }
    const connected = new Set(["old-connected"]);
    expect(bound.prune((p) => connected.has(p))).toBe(1);
    expect(bound.ids().sort()).toEqual(["mid", "new", "old-connected"]);
    expect(bound.prune((p) => connected.has(p))).toBe(0);
  });

  it("deny list: expired denials are swept and the list stays under its cap", () => {
    let now = 0;
    const deny = new PeerDenyList(() => now);
    for (let i = 0; i < 10_000; i++) deny.deny(`gone-${i}`, 1_000, "test");
    now = 5_000;
    deny.deny("fresh", 60_000, "test");
    deny.deny("one-more", 60_000, "test"); // over the cap: the expired ones are swept
    expect(deny.size()).toBe(2);
    expect(deny.isDenied("fresh")).toBe(true);
    for (let i = 0; i < 20_000; i++) deny.deny(`live-${i}`, 60_000, "test");
    expect(deny.size()).toBeLessThanOrEqual(10_000);
    expect(deny.isDenied("live-19999")).toBe(true);
  });
});
