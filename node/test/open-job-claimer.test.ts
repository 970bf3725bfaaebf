// The worker's side of open jobs over a recorded zome surface: which slots of which open jobs a node
// claims under its compute policy. (The whole flow, with real conductors, is in moe-mesh.test.ts.)
import { decodeHashFromBase64, encodeHashToBase64 } from "@holochain/client";
import type { ZomeCaller } from "@ripple-mesh/zome-bindings";
import { describe, expect, it } from "vitest";
import { loadComputePolicy, type ComputePolicy } from "../src/config/compute-policy.ts";
import { BIND_READS_A_MINUTE, BIND_READS_PER_AGENT_A_MINUTE, BindReadGate } from "../src/mesh/bind-read-gate.ts";
import { PerKeyRate } from "../src/per-key-rate.ts";
import { CLAIMS_PER_STARTED_JOB, MAX_CLAIMS_PER_PASS, OpenJobClaimer, QUIET_FALLBACK_READ_MS, type OpenJobClaimerOptions } from "../src/worker/open-job-claimer.ts";
import { createLogger } from "../src/log.ts";
import { until } from "./support/fake-inference.ts";

const key = (c: string) => "uhCAk" + c.repeat(48);
const [self, alice, stranger] = [key("s"), key("a"), key("x")];
const jobHash = (n: number) => new Uint8Array([0x84, 0x29, 0x24, ...new Array(36).fill(n)]);
const qwen = "qwen2.5-coder-0.5b-instruct-q4_k_m";

function openJob(n: number, author: string, slots: Array<{ slot: number; model: string; kind?: string; max_tokens?: number }>) {
  return {
    action_hash: jobHash(n),
    author: decodeHashFromBase64(author),
    timestamp: Date.now() * 1000,
    entry: {
      kind: "inference",
      requirements: JSON.stringify({ task_type: "short_answer", slots: slots.map((s) => ({ max_tokens: 48, ...s })) }),
      payload_inline: JSON.stringify({ kind: "moe", prompt: "q", task_type: "short_answer", slots: slots.map((s) => ({ expert: `e${s.slot}`, ...s })) }),
      payload_cid: null,
      deadline_ms: Date.now() + 60_000,
      moe_group: null,
      trace_id: `t${n}`,
      claim_window_ms: 5000,
    },
  };
}

function setup(jobs: unknown[], edit: (p: ComputePolicy) => void = () => {}, refuseClaimsOn: number[] = [], now?: () => number, extra: Partial<OpenJobClaimerOptions> = {}) {
  const claims: Array<{ job: number; slot: number }> = [];
  const reads = { count: 0 };
  const zomes: ZomeCaller = {
    callZome: async <T,>(req: { fn: string; payload?: unknown }) => {
      if (req.fn === "list_open_jobs") {
        reads.count++;
        return [...jobs] as T;
      }
      if (req.fn === "claim_job") {
        const p = req.payload as { job: Uint8Array; slot: number };
        // What the conductor answers for a claim its validation refuses (e.g. a job it holds for not yet open).
        if (refuseClaimsOn.includes(p.job[3]!)) throw new Error("source chain error: InvalidCommit: the claim is outside the job's claim window");
        claims.push({ job: p.job[3]!, slot: p.slot });
        return jobHash(99) as T;
      }
      throw new Error(`unexpected zome call ${req.fn}`);
    },
  };
  const policy = loadComputePolicy();
  edit(policy);
  const claimer = new OpenJobClaimer({
    zomes,
    self,
    policy: () => policy,
    hasModel: (m) => m === qwen,
    isMeshMember: (a) => a === alice,
    testExperts: false,
    log: createLogger("test", "silent"),
    ...(now ? { now } : {}),
    ...extra,
  });
  return { claimer, claims, reads };
}

const future = (job: ReturnType<typeof openJob>, aheadMs: number) => ({ ...job, timestamp: (Date.now() + aheadMs) * 1000 });

describe("open job claimer", () => {
  it("claims each slot it can serve, once, and none of its own jobs", async () => {
    const { claimer, claims } = setup([
      openJob(1, alice, [{ slot: 0, model: qwen }, { slot: 1, model: "gemma-3-270m-q4_k_m" }, { slot: 2, model: qwen }]),
      openJob(2, self, [{ slot: 0, model: qwen }]),
    ]);
    expect(await claimer.poll()).toBe(2);
    expect(claims).toEqual([{ job: 1, slot: 0 }, { job: 1, slot: 2 }]);
    expect(await claimer.poll()).toBe(0);
    expect(claims).toHaveLength(2);
  });

  it("does not claim for a requester its policy refuses, over its token limit, or test-only kinds", async () => {
    const { claimer, claims } = setup([
      openJob(3, stranger, [{ slot: 0, model: qwen }]),
      openJob(4, alice, [{ slot: 0, model: qwen, max_tokens: 5000 }, { slot: 1, model: qwen, kind: "garbage" }, { slot: 2, model: qwen }]),
    ]);
    expect(await claimer.poll()).toBe(1);
    expect(claims).toEqual([{ job: 4, slot: 2 }]);
  });

  it("claims nothing when the policy says serve_open_jobs: false, or for a model outside allowed_models", async () => {
    const off = setup([openJob(5, alice, [{ slot: 0, model: qwen }])], (p) => (p.worker.serve_open_jobs = false));
    expect(await off.claimer.poll()).toBe(0);
    const narrow = setup([openJob(6, alice, [{ slot: 0, model: qwen }])], (p) => (p.worker.allowed_models = ["gemma-3-270m-q4_k_m"]));
    expect(await narrow.claimer.poll()).toBe(0);
    expect([...off.claims, ...narrow.claims]).toEqual([]);
  });

  it("reads the slots from the job's requirements when the payload is in IPFS", async () => {
    const job = openJob(9, alice, []);
    const inIpfs = { ...job, entry: { ...job.entry, payload_inline: null, payload_cid: "bafkreiexample", requirements: JSON.stringify({ task_type: "short_answer", slots: [{ slot: 0, model: qwen, kind: "model", max_tokens: 48 }, { slot: 1, model: "gemma-3-270m-q4_k_m", kind: "model", max_tokens: 48 }] }) } };
    const { claimer, claims } = setup([inIpfs]);
    expect(await claimer.poll()).toBe(1);
    expect(claims).toEqual([{ job: 9, slot: 0 }]);
  });

  it("skips a job whose requirements are not an MOE slot list", async () => {
    const bad = { ...openJob(7, alice, []), entry: { ...openJob(7, alice, []).entry, requirements: "not json" } };
    const { claimer, claims } = setup([bad, openJob(8, alice, [{ slot: 0, model: qwen }])]);
    expect(await claimer.poll()).toBe(1);
    expect(claims).toEqual([{ job: 8, slot: 0 }]);
  });

  it("goes on past a job whose claim fails: the other jobs of the pass are claimed, the failure counted", async () => {
    const { claimer, claims } = setup([openJob(10, alice, [{ slot: 0, model: qwen }, { slot: 1, model: qwen }]), openJob(11, alice, [{ slot: 0, model: qwen }]), openJob(12, alice, [{ slot: 0, model: qwen }])], undefined, [10, 11]);
    expect(await claimer.pass()).toEqual({ claimed: 1, failed: 3, futureDated: 0, deferred: 0 });
    expect(claims).toEqual([{ job: 12, slot: 0 }]);
  });

  it("writes at most MAX_CLAIMS_PER_PASS claims a pass and a requester's max_per_minute a minute; the rest wait for a later pass", async () => {
    const slots = (n: number) => Array.from({ length: n }, (_, slot) => ({ slot, model: qwen }));
    const many = setup([openJob(1, alice, slots(30)), openJob(2, alice, slots(30))]);
    expect(await many.claimer.pass()).toEqual({ claimed: MAX_CLAIMS_PER_PASS, failed: 0, futureDated: 0, deferred: 60 - MAX_CLAIMS_PER_PASS });
    expect(await many.claimer.pass()).toEqual({ claimed: 60 - MAX_CLAIMS_PER_PASS, failed: 0, futureDated: 0, deferred: 0 });
    expect(new Set(many.claims.map((c) => `${c.job}:${c.slot}`)).size).toBe(60);

    // max_per_minute 2 jobs: 2 × CLAIMS_PER_STARTED_JOB claims a minute for this requester.
    const perMinute = 2 * CLAIMS_PER_STARTED_JOB;
    const job = openJob(3, alice, slots(perMinute + 7));
    // The clock is read after the job is stamped: a job stamped even 1 ms ahead waits for its stamp.
    let now = Date.now();
    const quota = setup([job], (p) => void (p.worker.per_requester.max_per_minute = 2), [], () => now);
    expect(await quota.claimer.pass()).toMatchObject({ claimed: perMinute, deferred: 7 });
    expect(await quota.claimer.pass()).toMatchObject({ claimed: 0, deferred: 7 });
    now += 61_000;
    expect(await quota.claimer.pass()).toMatchObject({ claimed: 7, deferred: 0 });
    expect(quota.claims.map((c) => c.slot)).toEqual(slots(perMinute + 7).map((s) => s.slot));
  });

  it("after a pass that reached MAX_CLAIMS_PER_PASS, the next read runs at once: a job of 40 slots is claimed whole inside its window", async () => {
    const slots = Array.from({ length: 40 }, (_, slot) => ({ slot, model: qwen }));
    const { claimer, claims, reads } = setup([openJob(4, alice, slots)]);
    claimer.wake("uhCkk" + "J".repeat(48)); // a notice: one read now
    await until(() => claims.length === 40, "every slot claimed", 2000);
    expect(reads.count).toBe(2);
  });

  it("ignores a job stamped beyond the clock skew ahead of this node, and keeps claiming beside it", async () => {
    const hourAhead = future(openJob(13, alice, [{ slot: 0, model: qwen }]), 3_600_000);
    const slightlyAhead = future(openJob(14, alice, [{ slot: 0, model: qwen }]), 5_000); // within the 30 s default
    const current = openJob(15, alice, [{ slot: 0, model: qwen }]);
    // Read after the jobs are stamped: a clock read before them could be a millisecond behind job 15.
    let clock = Date.now();
    const { claimer, claims } = setup([hourAhead, slightlyAhead, current], undefined, [], () => clock);
    expect(await claimer.pass()).toEqual({ claimed: 1, failed: 0, futureDated: 1, deferred: 0 });
    expect(claims).toEqual([{ job: 15, slot: 0 }]);
    // Once this node's clock passes the slightly-ahead job's stamp, it is claimed; the hour-ahead
    // one stays ignored while listed, even once time brings it within the skew.
    clock += 10_000;
    expect(await claimer.pass()).toEqual({ claimed: 1, failed: 0, futureDated: 1, deferred: 0 });
    clock += 3_600_000;
    expect(await claimer.pass()).toEqual({ claimed: 0, failed: 0, futureDated: 1, deferred: 0 });
    expect(claims).toEqual([{ job: 15, slot: 0 }, { job: 14, slot: 0 }]);
  });

  it("reads at once when a peer announces an open job, again until the job is listed, and bounds the notices it follows", async () => {
    const jobs: unknown[] = [];
    // No fallback read during the test: only notices make it read.
    const { claimer, claims, reads } = setup(jobs, undefined, [], undefined, { intervalMs: 3_600_000, wakeDelaysMs: [0, 40, 80, 160] });
    claimer.start();
    try {
      const announced = encodeHashToBase64(jobHash(21));
      expect(claimer.wake(announced)).toBe(true);
      expect(claimer.wake(announced)).toBe(false); // already awaited
      await new Promise((r) => setTimeout(r, 20));
      expect(reads.count).toBe(1);
      expect(claims).toEqual([]);
      // The job reaches this node's store a moment after the notice: the next wake-up read finds and claims it.
      jobs.push(openJob(21, alice, [{ slot: 0, model: qwen }]));
      await new Promise((r) => setTimeout(r, 60));
      expect(claims).toEqual([{ job: 21, slot: 0 }]);
      const afterClaim = reads.count;
      // Listed: its remaining wake-ups are cancelled.
      await new Promise((r) => setTimeout(r, 250));
      expect(reads.count).toBe(afterClaim);
      // A flood of notices: at most 16 distinct jobs are awaited at once.
      const flood = Array.from({ length: 40 }, (_, i) => claimer.wake("uhCkk" + String(i).padStart(2, "0") + "x".repeat(46)));
      expect(flood.filter(Boolean)).toHaveLength(16);
    } finally {
      await claimer.stop();
    }
  });

  it("falls back to a read every 30 s instead of every interval while every online peer can send notices", async () => {
    let nowMs = 1_000_000;
    let needed = false;
    const { claimer, reads } = setup([], undefined, [], () => nowMs, { intervalMs: 20, fallbackNeeded: () => needed });
    claimer.start();
    const ticks = () => new Promise((r) => setTimeout(r, 110));
    try {
      await ticks();
      expect(reads.count).toBe(1); // the first tick reads; the next ones are within the quiet 30 s
      nowMs += QUIET_FALLBACK_READ_MS;
      await ticks();
      expect(reads.count).toBe(2);
      // A peer that cannot tell this node (online, not bound over libp2p): a read every interval.
      needed = true;
      await ticks();
      expect(reads.count).toBeGreaterThanOrEqual(5);
    } finally {
      await claimer.stop();
    }
  });

  it("makes no fallback read while no other node is listed, and reads again once one is", async () => {
    let others = false;
    const { claimer, reads } = setup([], undefined, [], undefined, { intervalMs: 20, othersListed: () => others });
    claimer.start();
    const ticks = () => new Promise((r) => setTimeout(r, 110));
    try {
      await ticks();
      expect(reads.count).toBe(0);
      others = true;
      await ticks();
      expect(reads.count).toBeGreaterThanOrEqual(3);
    } finally {
      await claimer.stop();
    }
  });
});

describe("a per-key rate (claims per requester, refusals recorded, open-job notices followed)", () => {
  it("counts up to its limit per key within a minute, then again once the minute has passed; keys are bounded", () => {
    let now = 1_000_000;
    const rate = new PerKeyRate(3, () => now);
    expect([1, 2, 3, 4].map(() => rate.take("a", 3))).toEqual([true, true, true, false]);
    expect(rate.take("b", 3)).toBe(true); // another key has its own count
    now += 30_000;
    expect(rate.take("a", 3)).toBe(false);
    now += 30_001;
    expect(rate.take("a", 3)).toBe(true);
    for (const k of ["c", "d", "e", "f"]) rate.take(k, 3);
    expect(rate.size).toBe(3); // at most maxKeys: the least recent went first
  });
});

describe("early reads started by peers' binds (bind-read-gate.ts)", () => {
  it("allows a few per agent and a few in all a minute; an agent refused for its own count does not use up the others'", () => {
    let now = 1_000_000;
    const gate = new BindReadGate(() => now);
    const agents = Array.from({ length: 20 }, (_, i) => key(String.fromCharCode(97 + i)));
    expect(Array.from({ length: BIND_READS_PER_AGENT_A_MINUTE + 2 }, () => gate.allow(agents[0]!))).toEqual([
      ...new Array(BIND_READS_PER_AGENT_A_MINUTE).fill(true),
      false,
      false,
    ]);
    // Fresh agent keys (free to make) share one budget a minute.
    const allowed = agents.slice(1).filter((a) => gate.allow(a)).length;
    expect(allowed).toBe(BIND_READS_A_MINUTE - BIND_READS_PER_AGENT_A_MINUTE);
    expect(gate.allow(agents[19]!)).toBe(false);
    now += 60_001;
    expect(gate.allow(agents[0]!)).toBe(true);
  });
});
