// The peer view's rules (unit level; the mesh tests check the same with real nodes): who counts as
// online, why, and how a fast local read and a slower network read of the mesh are merged.
import { encodeHashToBase64 } from "@holochain/client";
import type { CapabilityRecord, MeshView } from "@ripple-mesh/zome-bindings";
import { describe, expect, it } from "vitest";
import { buildPeerView, ClockAheadMemory, CLOCK_AHEAD_MEMORY_MAX_PEERS, CLOCK_AHEAD_MEMORY_MS, forgetDeparted, mergeMeshViews } from "../src/mesh/peer-view.ts";
import { fastReadReason, FAST_LOCAL_READ_MS, localReadEveryMs, QUIET_LOCAL_READ_MS } from "../src/mesh/read-cadence.ts";

const agent = (n: number) => new Uint8Array([0x84, 0x20, 0x24, ...new Array(36).fill(n)]);
const now = 1_800_000_000_000;
const window = 8000;

function capability(n: number, timestampMs: number, name = `node${n}`): CapabilityRecord {
  return {
    action_hash: new Uint8Array([0x84, 0x29, 0x24, ...new Array(36).fill(n)]),
    author: agent(n),
    timestamp: timestampMs * 1000,
    capability: {
      agent: agent(n),
      agent_name: name,
      hardware_class: "cpu-laptop",
      compute: { cpu_cores: 2, cpu_arch: "x64", ram_gb: 24, gpu: null },
      storage: { local_ssd_gb: 10, ipfs_pinned_gb: 0 },
      inference: { models_loaded: [], max_batch_size: 1, tokens_per_second: 30, backend: "cpu" },
      memory: { total_gb: 24, available_gb: 20 },
      network: { bandwidth_mbps: 0, latency_region: "local" },
      availability: { status: "online", max_concurrent_jobs: 1 },
      load: { cpu_percent: 1, gpu_percent: 0, memory_percent: 10 },
      peer: { peer_id: `peer${n}`, multiaddrs: [], agent_signature: new Uint8Array(64), peer_signature: new Uint8Array(64) },
    },
  };
}

function heartbeat(n: number, timestampMs: number, status: "online" | "offline" = "online"): MeshView["heartbeats"][number] {
  return {
    action_hash: new Uint8Array([0x84, 0x29, 0x24, ...new Array(36).fill(100 + n)]),
    author: agent(n),
    timestamp: timestampMs * 1000,
    entry: { agent: agent(n), status, load: { cpu_percent: 50, gpu_percent: 0, memory_percent: 20 }, active_jobs: 2 },
  };
}

function view(nodes: CapabilityRecord[], heartbeats: MeshView["heartbeats"], p2p: Record<string, number> = {}) {
  return buildPeerView({ nodes, heartbeats, p2pSeen: (peerId) => p2p[peerId], self: agent(1), nowMs: now, livenessWindowMs: window });
}

describe("peer view", () => {
  it("this node first, online; a peer heard from within the window is online, with its heartbeat's load", () => {
    const peers = view([capability(2, now - 60_000, "bob"), capability(1, now - 60_000, "alice")], [heartbeat(2, now - 3000)]);
    expect(peers.map((p) => [p.name, p.self, p.online])).toEqual([
      ["alice", true, true],
      ["bob", false, true],
    ]);
    expect(peers[1]!.reason).toBe("DHT heartbeat");
    expect(peers[1]!.load.cpu_percent).toBe(50);
    expect(peers[1]!.activeJobs).toBe(2);
  });

  it("a peer silent for longer than the window is offline, and says for how long", () => {
    const [, bob] = view([capability(1, now), capability(2, now)], [heartbeat(2, now - window - 1000)], { peer2: now - window - 500 });
    expect(bob!.online).toBe(false);
    expect(bob!.reason).toBe("silent for 9 s (window 8 s)");
  });

  it("a libp2p ping keeps a peer online between heartbeats", () => {
    const [, bob] = view([capability(1, now), capability(2, now)], [heartbeat(2, now - 30_000)], { peer2: now - 1000 });
    expect(bob!.online).toBe(true);
    expect(bob!.reason).toBe("libp2p ping");
    expect(bob!.lastHeardMs).toBe(now - 1000);
  });

  it("an announced offline wins over earlier pings, but not over a later one", () => {
    const offline = [heartbeat(2, now - 2000, "offline")];
    expect(view([capability(2, now)], offline, { peer2: now - 2500 })[0]!.reason).toBe("announced it went offline");
    expect(view([capability(2, now)], offline, { peer2: now - 500 })[0]!.online).toBe(true);
  });

  it("a node never heard from is offline", () => {
    expect(view([capability(3, now)], [])[0]).toMatchObject({ online: false, reason: "never heard from", lastHeardMs: null });
  });
});

describe("merging mesh reads", () => {
  it("keeps per agent the newest capability and heartbeat, whichever read saw it", () => {
    const local: MeshView = { nodes: [capability(2, now - 10, "bob-new")], heartbeats: [heartbeat(2, now - 5000)] };
    const network: MeshView = { nodes: [capability(2, now - 1000, "bob-old"), capability(3, now - 1000, "carol")], heartbeats: [heartbeat(2, now - 1000), heartbeat(3, now - 2000)] };
    const merged = mergeMeshViews(local, network);
    const names = merged.nodes.map((n) => n.capability.agent_name).sort();
    expect(names).toEqual(["bob-new", "carol"]);
    const hb = new Map(merged.heartbeats.map((h) => [encodeHashToBase64(h.author), h.timestamp]));
    expect(hb.get(encodeHashToBase64(agent(2)))).toBe((now - 1000) * 1000);
    expect(mergeMeshViews(undefined, network)).toBe(network);
  });

  it("forgets a node that left: not in the latest read, and nothing of it newer than the read window", () => {
    const since = (now - 10 * 60_000) * 1000;
    const names = (v: MeshView) => v.nodes.map((n) => n.capability.agent_name).sort();
    const earlier: MeshView = {
      nodes: [capability(2, now - 3_600_000, "bob"), capability(3, now - 3_600_000, "gone"), capability(4, now - 5000, "joiner"), capability(5, now - 3_600_000, "quiet")],
      heartbeats: [heartbeat(2, now - 1000), heartbeat(3, now - 11 * 60_000), heartbeat(5, now - 60_000)],
    };
    // The latest read is a local one that has only bob (the others came with a network read).
    const latest: MeshView = { nodes: [capability(2, now - 3_600_000, "bob")], heartbeats: [heartbeat(2, now - 1000)] };
    const kept = forgetDeparted(mergeMeshViews(earlier, latest), latest, since);
    // "gone" left 11 minutes ago; the joiner has no heartbeat yet but a fresh capability; "quiet" beat a minute ago.
    expect(names(kept)).toEqual(["bob", "joiner", "quiet"]);
    expect(kept.heartbeats.map((h) => h.author[3]).sort()).toEqual([2, 5]);
  });

  it("the merged view does not grow with every node that ever joined", () => {
    const since = (now - 10 * 60_000) * 1000;
    let merged: MeshView | undefined;
    for (let n = 10; n < 110; n++) {
      // One read per departed node, each seen once long ago, beside bob who stays.
      const read: MeshView = { nodes: [capability(2, now - 3_600_000, "bob"), capability(n, now - 3_600_000)], heartbeats: [heartbeat(2, now - 1000), heartbeat(n, now - 20 * 60_000)] };
      merged = forgetDeparted(mergeMeshViews(merged, read), read, since);
    }
    expect(merged!.nodes).toHaveLength(2);
    const next: MeshView = { nodes: [capability(2, now - 3_600_000, "bob")], heartbeats: [heartbeat(2, now - 1000)] };
    expect(forgetDeparted(mergeMeshViews(merged, next), next, since).nodes).toHaveLength(1);
  });

  it("keeps what this node knows is alive: itself and peers bound over libp2p now, whatever the DHT reads say", () => {
    const since = (now - 10 * 60_000) * 1000;
    const old: MeshView = { nodes: [capability(1, now - 3_600_000, "me"), capability(2, now - 3_600_000, "pinging")], heartbeats: [heartbeat(1, now - 11 * 60_000), heartbeat(2, now - 11 * 60_000)] };
    const empty: MeshView = { nodes: [], heartbeats: [] };
    expect(forgetDeparted(old, empty, since).nodes).toHaveLength(0);
    const kept = forgetDeparted(old, empty, since, [encodeHashToBase64(agent(1)), encodeHashToBase64(agent(2))]);
    expect(kept.nodes.map((n) => n.capability.agent_name).sort()).toEqual(["me", "pinging"]);
  });

  it("a departed node whose last heartbeat is future-dated goes offline within the window, with the clock noted", () => {
    // bob's heartbeat claims to be from an hour ahead; his libp2p pings stopped 9 s ago (window 8 s).
    const peers = view([capability(2, now - 60_000, "bob")], [heartbeat(2, now + 3_600_000)], { peer2: now - 9000 });
    const bob = peers.find((p) => p.name === "bob")!;
    expect(bob.online).toBe(false);
    expect(bob.reason).toMatch(/silent for 9 s/);
    expect(bob.lastHeartbeatMs).toBeNull();
    expect(bob.clockAheadMs).toBe(3_600_000);
    // Its status and load are not taken from the future-dated heartbeat either.
    expect(bob.activeJobs).toBe(0);
  });

  it("a heartbeat within the allowed skew counts; beyond a configured skew it does not", () => {
    const slightly = view([capability(2, now - 60_000, "bob")], [heartbeat(2, now + 20_000)]).find((p) => p.name === "bob")!;
    expect([slightly.online, slightly.clockAheadMs]).toEqual([true, undefined]);
    const strict = buildPeerView({ nodes: [capability(2, now - 60_000, "bob")], heartbeats: [heartbeat(2, now + 20_000)], p2pSeen: () => undefined, self: agent(1), nowMs: now, livenessWindowMs: window, maxClockSkewMs: 10_000 });
    expect(strict.find((p) => p.name === "bob")!.online).toBe(false);
  });

  it("merging reads: a future-dated heartbeat read once does not shadow the honest ones read after it", () => {
    const first: MeshView = { nodes: [capability(2, now - 60_000)], heartbeats: [heartbeat(2, now + 3_600_000)] };
    const later: MeshView = { nodes: [capability(2, now - 60_000)], heartbeats: [heartbeat(2, now - 1000)] };
    const merged = mergeMeshViews(first, later, { nowMs: now, maxSkewMs: 30_000 });
    expect(merged.heartbeats.map((h) => h.timestamp)).toEqual([(now - 1000) * 1000]);
    // Without a clock, the old rule (newest stamp wins) is unchanged.
    expect(mergeMeshViews(first, later).heartbeats.map((h) => h.timestamp)).toEqual([(now + 3_600_000) * 1000]);
  });

  it("once a peer's clock was seen beyond the skew, its heartbeats stay distrusted a while (time passing does not make them fresh)", () => {
    const memory = new ClockAheadMemory();
    const at = (nowMs: number, hb: number) =>
      buildPeerView({ nodes: [capability(2, now - 60_000, "bob")], heartbeats: [heartbeat(2, hb)], p2pSeen: () => undefined, self: agent(1), nowMs, livenessWindowMs: window, clockMemory: memory }).find((p) => p.name === "bob")!;
    // bob writes a heartbeat 120 s ahead and leaves; 100 s later it is "only" 20 s ahead.
    expect(at(now, now + 120_000).clockAheadMs).toBe(120_000);
    const later = at(now + 100_000, now + 120_000);
    expect([later.online, later.lastHeartbeatMs, later.clockAheadMs]).toEqual([false, null, 120_000]);
    // After the memory, an honest heartbeat counts again.
    const much = now + CLOCK_AHEAD_MEMORY_MS + 200_000;
    expect(at(much, much - 1000).online).toBe(true);
  });

  it("forgets peers that are never looked up again once their memory expires, and the stalest beyond its cap", () => {
    const memory = new ClockAheadMemory();
    for (let i = 0; i < 100; i++) memory.note(`gone-${i}`, 60_000, now);
    expect(memory.size).toBe(100);
    // One note after the memory: the 100 agents no view lists any more are gone with it.
    memory.note("late", 60_000, now + CLOCK_AHEAD_MEMORY_MS + 1);
    expect(memory.size).toBe(1);
    // A flood of fresh keys, each future-dated: never more than the cap, the newest kept.
    for (let i = 0; i < CLOCK_AHEAD_MEMORY_MAX_PEERS + 500; i++) memory.note(`sybil-${i}`, 60_000, now + CLOCK_AHEAD_MEMORY_MS + 2);
    expect(memory.size).toBe(CLOCK_AHEAD_MEMORY_MAX_PEERS);
    expect(memory.get(`sybil-${CLOCK_AHEAD_MEMORY_MAX_PEERS + 499}`, now + CLOCK_AHEAD_MEMORY_MS + 3)).toBe(60_000);
    expect(memory.get("sybil-0", now + CLOCK_AHEAD_MEMORY_MS + 3)).toBeUndefined();
  });
});

describe("how often the mesh view is read from the node's own store", () => {
  const key = (n: number) => encodeHashToBase64(agent(n));
  const alone = view([capability(1, now)], []);
  const withBob = view([capability(1, now), capability(2, now)], [heartbeat(2, now - 1000)], { peer2: now - 500 });

  it("reads quietly when alone, or when every online peer is bound over libp2p", () => {
    expect(localReadEveryMs({ view: alone, state: "isolated", boundAgents: [] })).toBe(QUIET_LOCAL_READ_MS);
    expect(localReadEveryMs({ view: withBob, state: "connected", boundAgents: [key(2)] })).toBe(QUIET_LOCAL_READ_MS);
    // An offline peer that is not bound changes nothing: nothing of it is waited for.
    const bobGone = view([capability(1, now), capability(2, now)], [heartbeat(2, now - 60_000)]);
    expect(localReadEveryMs({ view: bobGone, state: "connected", boundAgents: [] })).toBe(QUIET_LOCAL_READ_MS);
  });

  it("reads every second while a peer's liveness rests on DHT heartbeats alone", () => {
    const input = { view: withBob, state: "connected" as const, boundAgents: [] };
    expect(localReadEveryMs(input)).toBe(FAST_LOCAL_READ_MS);
    expect(fastReadReason(input)).toBe("peer node2 is online but not bound over libp2p: its liveness rests on DHT heartbeats");
  });

  it("reads every second while a bound peer's capability is missing, or while syncing", () => {
    expect(fastReadReason({ view: alone, state: "isolated", boundAgents: [key(3)] })).toBe(`peer ${key(3)} is bound over libp2p but its capability is not here yet`);
    expect(localReadEveryMs({ view: withBob, state: "syncing", boundAgents: [key(2)] })).toBe(FAST_LOCAL_READ_MS);
  });
});
