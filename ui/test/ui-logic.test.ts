// The UI's pure logic: formatting, routes, the SSE parser, reconnect backoff, the topology layout,
// the shard matrix, and keeping jobs and peers current from events.
import { describe, expect, it } from "vitest";
import type { JobRecord, JobSummary, PeerInfo } from "@ripple-mesh/api-types";
import { reconnectDelayMs } from "../src/lib/backoff.ts";
import { formatAgo, formatBytes, formatDuration, formatPercent, formatRate, shortKey, truncate } from "../src/lib/format.ts";
import { applyJobEvent, settleSlots, upsertJob } from "../src/lib/jobs.ts";
import { hrefOf, parseRoute } from "../src/lib/route.ts";
import { buildShardMatrix } from "../src/lib/shards.ts";
import { SseParser } from "@ripple-mesh/api-types";
import { layoutTopology } from "../src/lib/topology.ts";
import { withPeer } from "../src/state/store.ts";

function peer(name: string, over: Partial<PeerInfo> = {}): PeerInfo {
  return {
    agent: `uhCAk${name}`,
    name,
    self: false,
    online: true,
    reason: "libp2p ping",
    peerId: `12D3${name}`,
    multiaddrs: [],
    hardwareClass: "cpu-small",
    cpuCores: 2,
    cpuArch: "x64",
    ramGb: 24,
    gpu: null,
    models: [],
    modelRefs: [],
    tokensPerSecond: 30,
    backend: "cpu",
    load: { cpu_percent: 10, gpu_percent: 0, memory_percent: 40 },
    activeJobs: 0,
    lastHeartbeatMs: 1,
    lastP2pMs: 1,
    lastHeardMs: 1,
    ...over,
  };
}

describe("formatting", () => {
  it("durations, ago, percentages, sizes, rates", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(2340)).toBe("2.3 s");
    expect(formatDuration(42_000)).toBe("42 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
    expect(formatDuration(3 * 3600_000 + 60_000)).toBe("3 h 1 min");
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(-5)).toBe("0 ms");
    expect(formatAgo(null, 10_000)).toBe("never");
    expect(formatAgo(9_500, 10_000)).toBe("just now");
    expect(formatAgo(4_000, 10_000)).toBe("6.0 s ago");
    expect(formatAgo(0, 200_000)).toBe("3 min ago");
    expect(formatPercent(0.8)).toBe("80%");
    expect(formatPercent(undefined)).toBe("—");
    expect(formatBytes(491_400_064)).toBe("491 MB");
    expect(formatBytes(2_500)).toBe("2.5 KB");
    expect(formatBytes(12)).toBe("12 B");
    expect(formatRate(34.56)).toBe("35 tok/s");
    expect(formatRate(3.21)).toBe("3.2 tok/s");
    expect(formatRate(0)).toBe("—");
  });

  it("shortens keys at both ends and truncates text on one line", () => {
    expect(shortKey("uhCAkAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAxyz123")).toBe("uhCAkAAAA…xyz123");
    expect(shortKey("short")).toBe("short");
    expect(shortKey(null)).toBe("—");
    expect(truncate("a  b\n c", 10)).toBe("a b c");
    expect(truncate("abcdefghijk", 5)).toBe("abcd…");
  });
});

describe("routes", () => {
  it("parses the hash into a page and back", () => {
    expect(parseRoute("")).toEqual({ page: "peers" });
    expect(parseRoute("#/nonsense")).toEqual({ page: "peers" });
    expect(parseRoute("#/shards")).toEqual({ page: "shards" });
    expect(parseRoute("#/jobs")).toEqual({ page: "jobs" });
    expect(parseRoute("#/jobs/abc-123")).toEqual({ page: "jobs", trace: "abc-123" });
    expect(parseRoute("#/jobs/%E0%A4%A")).toEqual({ page: "jobs", trace: "%E0%A4%A" });
    expect(hrefOf({ page: "jobs", trace: "a/b" })).toBe("#/jobs/a%2Fb");
    expect(parseRoute(hrefOf({ page: "jobs", trace: "a/b" }))).toEqual({ page: "jobs", trace: "a/b" });
    expect(hrefOf({ page: "node" })).toBe("#/node");
  });
});

describe("SSE parser", () => {
  it("splits messages across arbitrary chunks, skips comments, joins data lines", () => {
    const p = new SseParser();
    const text = 'event: moe:token\ndata: {"slot":0,"text":"Pa"}\n\n: keep-alive\n\nevent: result\r\ndata: {"a":\r\ndata: 1}\r\n\r\n';
    const got = [];
    for (let i = 0; i < text.length; i += 3) got.push(...p.push(text.slice(i, i + 3)));
    expect(got).toEqual([
      { event: "moe:token", data: '{"slot":0,"text":"Pa"}' },
      { event: "result", data: '{"a":\n1}' },
    ]);
    expect(p.push("data: incomplete\n")).toEqual([]);
  });
});

describe("reconnect backoff", () => {
  it("doubles from 500 ms to a 10 s ceiling, with bounded jitter", () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((n) => reconnectDelayMs(n, {}, mid))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    expect(reconnectDelayMs(2, {}, () => 0)).toBe(1600);
    expect(reconnectDelayMs(2, {}, () => 1)).toBe(2400);
    expect(reconnectDelayMs(10, {}, () => 1)).toBe(10_000);
    expect(reconnectDelayMs(0, { baseMs: 100, jitter: 0 })).toBe(100);
  });
});

describe("topology layout", () => {
  it("puts this node in the middle and its peers on a circle, with an edge to each", () => {
    const l = layoutTopology([peer("me", { self: true }), peer("a"), peer("b", { online: false }), peer("c"), peer("d")], 400, 300);
    const me = l.nodes.find((n) => n.self)!;
    expect(me).toMatchObject({ x: 200, y: 150, online: true });
    const others = l.nodes.filter((n) => !n.self);
    const dist = others.map((n) => Math.hypot(n.x - 200, n.y - 150));
    for (const d of dist) expect(d).toBeCloseTo(dist[0]!, 0);
    // First peer at the top, the next ones clockwise, all inside the box.
    expect(others[0]).toMatchObject({ x: 200 });
    expect(others[0]!.y).toBeLessThan(150);
    expect(others[1]!.x).toBeGreaterThan(200);
    for (const n of l.nodes) {
      expect(n.x - n.r).toBeGreaterThanOrEqual(0);
      expect(n.y - n.r).toBeGreaterThanOrEqual(0);
      expect(n.x + n.r).toBeLessThanOrEqual(400);
      expect(n.y + n.r).toBeLessThanOrEqual(300);
    }
    expect(l.edges).toEqual(["a", "b", "c", "d"].map((n) => ({ from: "uhCAkme", to: `uhCAk${n}`, online: n !== "b" })));
  });

  it("draws a lone node and an empty mesh", () => {
    expect(layoutTopology([peer("me", { self: true })], 400, 300).nodes).toEqual([expect.objectContaining({ x: 200, y: 150 })]);
    expect(layoutTopology([], 400, 300)).toMatchObject({ nodes: [], edges: [] });
    const many = layoutTopology([peer("me", { self: true }), ...Array.from({ length: 20 }, (_, i) => peer(`p${i}`))]);
    expect(new Set(many.nodes.map((n) => `${n.x},${n.y}`)).size).toBe(21);
  });
});

describe("shard matrix", () => {
  const hold = (m: ReturnType<typeof buildShardMatrix>, model: string) => m.rows.find((r) => r.model === model)!.cells.map((c) => `${c.hold}${c.pinned ? "+pin" : ""}`);

  it("marks loaded / on disk for this node, served for peers, and counts online replicas", () => {
    const peers = [peer("me", { self: true, models: ["qwen", "tiny"] }), peer("bob", { models: ["qwen", "gemma"] }), peer("carol", { online: false, models: ["qwen"] })];
    const m = buildShardMatrix(peers, [
      { name: "qwen", sha256: "q", bytes: 491_400_064, file: "/m/q", loaded: true },
      { name: "tiny", sha256: "t", bytes: 500_000, file: "/m/t", loaded: false },
    ]);
    expect(m.peers.map((p) => p.name)).toEqual(["me", "bob", "carol"]);
    expect(m.rows.map((r) => [r.model, r.cells.map((c) => c.hold), r.replicas, r.holders])).toEqual([
      ["qwen", ["loaded", "served", "served"], 2, 3],
      ["gemma", ["none", "served", "none"], 1, 1],
      ["tiny", ["on-disk", "none", "none"], 1, 1],
    ]);
    expect(m.rows[0]).toMatchObject({ bytes: 491_400_064, cid: null, pinned: null, ipfsReplicas: null, underReplicated: false });
    expect(m.rows.every((r) => r.cells.every((c) => !c.pinned))).toBe(true);
    expect(buildShardMatrix([], null).rows).toEqual([]);
  });

  it("adds CIDs, pinning peers and IPFS copies from /v1/shards, preferring this node's own file", () => {
    const peers = [peer("me", { self: true, agent: "A-me", models: ["qwen"] }), peer("bob", { agent: "A-bob", models: ["qwen"] }), peer("carol", { agent: "A-carol", models: [] })];
    const provider = (agent: string, name: string) => ({ agent, name, peerId: null, online: true, self: agent === "A-me", sinceMs: 0, verified: null, reason: null });
    const shard = (cid: string, sha256: string, providers: ReturnType<typeof provider>[], local: boolean) => ({
      name: "qwen",
      cid,
      sha256,
      size: 491_400_064,
      publishedBy: ["A-bob"],
      providers,
      replicas: providers.length,
      minProviders: 2,
      underReplicated: providers.length < 2,
      local,
    });
    const ipfs = [
      shard("bafyOTHER", "other", [provider("A-bob", "bob"), provider("A-carol", "carol"), provider("A-x", "x")], false),
      shard("bafyMINE", "q", [provider("A-me", "me")], true),
      { ...shard("bafyGEM", "g", [provider("A-carol", "carol")], false), name: "gemma", size: 300_000_000 },
    ];
    const m = buildShardMatrix(peers, [{ name: "qwen", sha256: "q", bytes: 491_400_064, file: "/m/q", loaded: false }], ipfs);
    const qwen = m.rows.find((r) => r.model === "qwen")!;
    expect(qwen).toMatchObject({ cid: "bafyMINE", pinned: true, ipfsReplicas: 1, minProviders: 2, underReplicated: true });
    expect(hold(m, "qwen")).toEqual(["on-disk+pin", "served", "none"]);
    // A model only in IPFS (no peer serves it) still gets a row, with carol pinning it.
    const gemma = m.rows.find((r) => r.model === "gemma")!;
    expect(gemma).toMatchObject({ cid: "bafyGEM", bytes: 300_000_000, replicas: 0, pinned: false, ipfsReplicas: 1 });
    expect(hold(m, "gemma")).toEqual(["none", "none", "none+pin"]);
    // Another file published under the same name is another row (bob and carol advertise no sha256, so
    // their "qwen" matches both by name).
    const other = m.rows.find((r) => r.model === "qwen" && r.sha256 === "other")!;
    expect(other).toMatchObject({ cid: "bafyOTHER", pinned: false, ipfsReplicas: 3, underReplicated: false });
    expect(m.rows.filter((r) => r.model === "qwen").map((r) => r.sha256).sort()).toEqual(["other", "q"]);
  });

  it("is one row per file: a model pulled under another name shares the row, its CID and its replicas", () => {
    const peers = [
      peer("me", { self: true, agent: "A-me", models: ["gemma-copy"], modelRefs: [{ name: "gemma-copy", sha256: "g" }] }),
      peer("bob", { agent: "A-bob", models: ["gemma-3"], modelRefs: [{ name: "gemma-3", sha256: "g" }] }),
      peer("carol", { agent: "A-carol", models: ["gemma-3", "qwen"], modelRefs: [{ name: "gemma-3", sha256: "g" }, { name: "qwen", sha256: "q" }] }),
      peer("dave", { agent: "A-dave", models: ["gemma-3"], modelRefs: [] }),
    ];
    const provider = (agent: string, name: string) => ({ agent, name, peerId: null, online: true, self: false, sinceMs: 0, verified: null, reason: null });
    const ipfs = [{ name: "gemma-3", cid: "bafyGEM", sha256: "g", size: 253_113_024, publishedBy: ["A-bob"], providers: [provider("A-bob", "bob")], replicas: 1, minProviders: 2, underReplicated: true, local: false }];
    const m = buildShardMatrix(peers, [{ name: "gemma-copy", sha256: "g", bytes: 253_113_024, file: "/m/g", loaded: false }], ipfs);
    expect(m.rows.map((r) => [r.model, r.sha256, r.aliases, r.replicas])).toEqual([
      ["gemma-copy", "g", ["gemma-3"], 4],
      ["qwen", "q", [], 1],
    ]);
    expect(m.rows[0]).toMatchObject({ cid: "bafyGEM", ipfsReplicas: 1, bytes: 253_113_024 });
    expect(hold(m, "gemma-copy")).toEqual(["on-disk", "served+pin", "served", "served"]);
    // Without this node's copy the row takes the name most peers use.
    expect(buildShardMatrix(peers.slice(1), [], ipfs).rows.map((r) => [r.model, r.aliases])).toEqual([
      ["gemma-3", []],
      ["qwen", []],
    ]);
    // Two files under one name stay two rows; a name with no sha256 anywhere is a row of its own.
    const two = buildShardMatrix([peer("x", { models: ["m"], modelRefs: [{ name: "m", sha256: "1" }] }), peer("y", { models: ["m"], modelRefs: [{ name: "m", sha256: "2" }] }), peer("z", { models: ["solo"] })], []);
    expect(two.rows.map((r) => [r.model, r.sha256, r.holders])).toEqual([
      ["m", "1", 1],
      ["m", "2", 1],
      ["solo", null, 1],
    ]);
  });
});

describe("jobs from events", () => {
  const summary = (trace: string, started: number, over: Partial<JobSummary> = {}): JobSummary => ({
    trace_id: trace,
    prompt: "p",
    status: "running",
    started_ms: started,
    finished_ms: null,
    slots: 0,
    answered: 0,
    peers: [],
    response: null,
    consensus_score: null,
    consensus_reached: null,
    error: null,
    ...over,
  });

  it("upserts summaries newest first, one per trace, within the limit", () => {
    let list = upsertJob([], summary("a", 1));
    list = upsertJob(list, summary("b", 2));
    list = upsertJob(list, summary("a", 1, { status: "done", response: "x" }));
    expect(list.map((j) => [j.trace_id, j.status])).toEqual([
      ["b", "running"],
      ["a", "done"],
    ]);
    expect(upsertJob(list, summary("c", 3), 2).map((j) => j.trace_id)).toEqual(["c", "b"]);
  });

  it("applies progress without changing the old record", () => {
    const start: JobRecord = { trace_id: "t", prompt: "p", task_type: null, experts: null, status: "running", started_ms: 0, finished_ms: null, slots: [], result: null, error: null };
    let r = applyJobEvent(start, { type: "moe:assigned", slot: 1, expert: "e1", model: "m", peer: "bob", epoch: 1 });
    r = applyJobEvent(r, { type: "moe:token", slot: 0, text: "Pa" });
    r = applyJobEvent(r, { type: "moe:token", slot: 0, text: "ris" });
    r = applyJobEvent(r, { type: "moe:answer", slot: 0, expert: "e0", peer: "alice", latency_ms: 12 });
    const before = r;
    r = applyJobEvent(r, { type: "moe:reassigned", slot: 1, expert: "e1", from: "bob", to: "carol", epoch: 2, reason: "silent" });
    expect(start.slots).toEqual([]);
    expect(before.slots[1]).toMatchObject({ peer: "bob", epoch: 1 });
    expect(r.slots.map((s) => [s.slot, s.peer, s.text, s.answered, s.epoch])).toEqual([
      [0, "alice", "Paris", true, 0],
      [1, "carol", "", false, 2],
    ]);
    expect(r.slots[1]!.reassigned).toEqual([{ from: "bob", to: "carol", epoch: 2, reason: "silent" }]);
  });

  it("marks every slot that voted answered when the result arrives", () => {
    const start: JobRecord = { trace_id: "t", prompt: "p", task_type: null, experts: null, status: "running", started_ms: 0, finished_ms: null, slots: [], result: null, error: null };
    const running = applyJobEvent(start, { type: "moe:assigned", slot: 0, expert: "e0", model: "m", peer: "bob", epoch: 1 });
    const vote = { model: "m", expert: "e0", peer: "carol", response_hash: "h", weight: 1, counted_weight: 1, peer_id: null, latency_ms: 30, agreed: true, slot: 0, epoch: 2, tokens: 1, prompt_tokens: 9, output: "x" };
    const result = { response: "x", consensus_score: 1, consensus_reached: true, model_votes: [vote, { ...vote, slot: 1, expert: "e1", peer: "dave", epoch: 1 }], trace_id: "t", task_type: "short_answer", job: null, wall_ms: 40, failed_slots: [], diversity: "ok" as const, cancelled_slots: [], rejected_answers: [], stopped_early: false };
    const done = settleSlots(running, result);
    expect(done.result).toBe(result);
    expect(done.slots.map((s) => [s.slot, s.peer, s.epoch, s.answered, s.latency_ms])).toEqual([
      [0, "carol", 2, true, 30],
      [1, "dave", 1, true, 30],
    ]);
  });

  it("replaces a peer from a peer event, keeping this node first", () => {
    const list = { state: "ready" as const, value: [peer("me", { self: true }), peer("bob"), peer("carol")], at: 0 };
    const next = withPeer(list, peer("bob", { online: false, reason: "silent for 9 s" }));
    expect(next.state === "ready" && next.value.map((p) => [p.name, p.online])).toEqual([
      ["me", true],
      ["bob", false],
      ["carol", true],
    ]);
    const added = withPeer({ state: "loading" }, peer("dave"));
    expect(added.state === "ready" && added.value.map((p) => p.name)).toEqual(["dave"]);
  });
});
