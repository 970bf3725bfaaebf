// The peer view's rules (unit level; the mesh tests check the same with real nodes): who counts as
// online, why, and how a fast local read and a slower network read of the mesh are merged.
import { encodeHashToBase64 } from "@holochain/client";
import type { CapabilityRecord, MeshView } from "@ripple-mesh/zome-bindings";
import { describe, expect, it } from "vitest";
import { buildPeerView, mergeMeshViews } from "../src/mesh/peer-view.ts";

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
      inference: { models_loaded: [], max_batch_size: 1, tokens_per_second: 30 },
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
});
