// A worker checks that the assignment on the DHT backs a job request: the check itself (who wrote
// it, whom it names, which job, slot and epoch, what the job lists for the slot, its deadline), the
// wait for an assignment still on its way, and the worker around it: an honest slot runs beside its
// check and its result is queued at once; a failed check stops a generation still running, and an
// answered result whose assignment was read and does not back it is dropped; a requester with too
// many checks open, or caught with an unbacked request, has its jobs checked first; this node's own
// slots need no check; one assignment is served at most twice.
import { decodeHashFromBase64, encodeHashToBase64 } from "@holochain/client";
import type { AssignmentWithJob } from "@ripple-mesh/zome-bindings";
import { describe, expect, it } from "vitest";
import { defaultComputePolicyFile, loadComputePolicy } from "../src/config/compute-policy.ts";
import type { GenerateRequest, GenerateResult } from "../src/inference/inference-types.ts";
import type { JobProgress, JobRequest } from "../src/protocol/job-protocol.ts";
import { assignmentProblem, checkAssignment, CHECK_FIRST_MS, MAX_UNVERIFIED_PER_REQUESTER, SERVES_PER_ASSIGNMENT, type AssignmentReader } from "../src/worker/assignment-check.ts";
import { JobWorker } from "../src/worker/job-worker.ts";
import type { ResultToWrite } from "../src/worker/result-writer.ts";
import { silent } from "./support/inference-fixtures.ts";
import { peer, qwen, qwenSha } from "./support/trust-fixtures.ts";
import { inferencePolicyFile, loadInferencePolicy } from "../src/config/inference-policy.ts";
import { JobPoster, type PlannedSlot } from "../src/moe/job-poster.ts";
import { expertTask } from "../src/protocol/expert-task.ts";

const agentKey = (n: number) => new Uint8Array([0x84, 0x20, 0x24, ...new Array(36).fill(n)]);
const actionHash = (n: number) => encodeHashToBase64(new Uint8Array([0x84, 0x29, 0x24, ...new Array(36).fill(n)]));
const [requesterKey, workerKey, otherKey] = [agentKey(1), agentKey(2), agentKey(3)];
const requester = encodeHashToBase64(requesterKey);
const self = encodeHashToBase64(workerKey);
const NOW = 1_800_000_000_000;

const request = (over: Partial<JobRequest> = {}): JobRequest => ({
  job: actionHash(10),
  assignment: actionHash(11),
  slot: 1,
  epoch: 2,
  trace_id: "t",
  task: { expert: "e", kind: "model", model: qwen, modelSha256: qwenSha, prompt: { kind: "completion", text: "Q" }, sampling: { temperature: 0 }, maxTokens: 16 },
  ...over,
});

/** What get_assignment_with_job returns for `request()`, as the requester (job-poster.ts) writes it. */
function found(over: { author?: Uint8Array; assignee?: Uint8Array; job?: string; slot?: number; epoch?: number; requirements?: string; deadlineMs?: number } = {}): AssignmentWithJob {
  const author = over.author ?? requesterKey;
  const job = decodeHashFromBase64(over.job ?? actionHash(10));
  const requirements = over.requirements ?? JSON.stringify({ task_type: "short_answer", slots: [{ slot: 0, model: "gemma", kind: "model", max_tokens: 16 }, { slot: 1, model: qwen, kind: "model", max_tokens: 48 }] });
  return {
    assignment: { action_hash: decodeHashFromBase64(actionHash(11)), author, timestamp: NOW, entry: { job, assignee: over.assignee ?? workerKey, slot: over.slot ?? 1, epoch: over.epoch ?? 2 } },
    job: {
      action_hash: job,
      author,
      timestamp: NOW,
      entry: { kind: "inference", requirements, payload_inline: "{}", payload_cid: null, deadline_ms: over.deadlineMs ?? NOW + 180_000, moe_group: null, trace_id: "t", claim_window_ms: 0 },
    },
  } as AssignmentWithJob;
}

const problem = (f: AssignmentWithJob, req = request(), now = NOW) => assignmentProblem(f, req, { requester, self, now });

describe("whether an assignment backs a job request", () => {
  it("accepts the requester's own assignment naming this node for the job, slot and epoch asked", () => {
    expect(problem(found())).toBeNull();
    // A job too big to list its slots in 4 KiB says how many it has.
    expect(problem(found({ requirements: JSON.stringify({ task_type: "x", slots: 2 }) }))).toBeNull();
  });

  it("names what does not match", () => {
    expect(problem(found({ author: otherKey }))).toMatch(/was written by uhCAk.*, not by the requester/);
    expect(problem(found({ assignee: otherKey }))).toMatch(/names another worker/);
    expect(problem(found({ job: actionHash(12) }))).toMatch(/is for job .*, not /);
    expect(problem(found({ slot: 0 }))).toMatch(/is slot 0 epoch 2, the request says slot 1 epoch 2/);
    expect(problem(found({ epoch: 3 }))).toMatch(/is slot 1 epoch 3, the request says slot 1 epoch 2/);
    expect(problem(found({ deadlineMs: NOW - 61_000 }))).toMatch(/passed its deadline at/);
    expect(problem(found({ deadlineMs: NOW - 59_000 }))).toBeNull(); // a minute of clock skew is allowed
  });

  it("checks the task against what the job lists for the slot", () => {
    expect(problem(found(), request({ slot: 0, assignment: actionHash(11) }))).toMatch(/is slot 1 epoch 2, the request says slot 0/);
    const other = { ...request().task, model: "gemma" };
    expect(problem(found(), request({ task: other }))).toMatch(/lists slot 1 as model qwen2.5.*, the request asks for model gemma/);
    expect(problem(found(), request({ task: { ...request().task, maxTokens: 49 } }))).toMatch(/asks for 49 tokens, job .* lists at most 48/);
    expect(problem(found({ requirements: JSON.stringify({ slots: [{ slot: 0, model: qwen, kind: "model", max_tokens: 48 }] }) }))).toMatch(/lists no slot 1/);
    expect(problem(found({ requirements: JSON.stringify({ slots: 1 }) }))).toMatch(/has 1 slot\(s\), not a slot 1/);
    expect(problem(found({ requirements: "{ not json" }))).toMatch(/requirements are not JSON/);
    // A slot a timed-out cloud expert hands to a local one is listed apart (job-poster.ts).
    const withFallback = JSON.stringify({ slots: [{ slot: 0, model: qwen, kind: "model", max_tokens: 48 }], fallback_slots: [{ slot: 1, model: qwen, kind: "model", max_tokens: 48 }] });
    expect(problem(found({ requirements: withFallback }))).toBeNull();
    expect(problem(found({ requirements: JSON.stringify({ model: qwen }) }))).toMatch(/do not list its slots/);
  });
});

describe("the job entry a requester writes (job-poster.ts) backs its slots' requests", () => {
  /** The job entry JobPoster.writeJob writes for `plan` and `fallbacks`, read back as the check reads it. */
  async function written(plan: PlannedSlot[], fallbacks: PlannedSlot[]) {
    const policy = loadInferencePolicy(inferencePolicyFile, {});
    let job: unknown;
    const zomes = {
      callZome: async ({ fn, payload }: { fn: string; payload: { job: unknown; slots: unknown[] } }) => {
        job = payload.job;
        return { job: decodeHashFromBase64(actionHash(10)), assignments: payload.slots.map((_, i) => decodeHashFromBase64(actionHash(20 + i))) };
      },
    };
    await new JobPoster({ zomes: zomes as never, policy, peers: () => [], log: silent }).writeJob({ prompt: "Q?", taskType: "short_answer", traceId: "t", plan, fallbacks, kind: "moe" });
    return job as { requirements: string };
  }
  const policy = loadInferencePolicy(inferencePolicyFile, {});
  const planned = (slot: number, expert = policy.local_tier.experts[0]!): PlannedSlot => ({ slot, expert, task: expertTask(policy, expert, { prompt: "Q?", taskType: "short_answer" }), peer: peer("bob", { agent: self }) });
  const backs = (requirements: string, p: PlannedSlot) =>
    problem(found({ requirements, slot: p.slot, epoch: 1 }), request({ slot: p.slot, epoch: 1, task: p.task }));

  it("lists every planned slot and the cloud fallback slots, which are numbered after the cloud slots", async () => {
    const plan = policy.local_tier.experts.map((e, i) => planned(i, e));
    // Two cloud slots (6, 7) then their fallbacks (8, 9), each the first expert's task.
    const fallbacks = [planned(plan.length + 2), planned(plan.length + 3)];
    const { requirements } = await written(plan, fallbacks);
    for (const p of [...plan, ...fallbacks]) expect(backs(requirements, p), `slot ${p.slot}`).toBeNull();
    expect(backs(requirements, planned(plan.length))).toMatch(/lists no slot 6/); // a cloud slot is no worker's
  });

  it("counts up to the last fallback slot when the slots are too many to list in 4 KiB", async () => {
    const plan = Array.from({ length: 50 }, (_, i) => planned(i));
    const fallback = planned(55);
    const { requirements } = await written(plan, [fallback]);
    expect(JSON.parse(requirements)).toEqual({ task_type: "short_answer", slots: 56 });
    expect(backs(requirements, fallback)).toBeNull();
  });
});

describe("waiting for an assignment to reach this node", () => {
  it("reads again until the assignment arrives, then checks it", async () => {
    let reads = 0;
    const read: AssignmentReader = async () => (++reads < 3 ? null : found());
    await expect(checkAssignment(read, request(), { requester, self }, { signal: new AbortController().signal, waitMs: 5_000, now: () => NOW })).resolves.toEqual({ backed: true });
    expect(reads).toBe(3);
  });

  it("gives up after the wait, saying whether reads failed or found nothing, even while a read hangs", async () => {
    const none: AssignmentReader = async () => null;
    const failing: AssignmentReader = async () => {
      throw new Error("conductor unreachable");
    };
    const hanging: AssignmentReader = () => new Promise(() => {});
    const opts = { signal: new AbortController().signal, waitMs: 250 };
    const problem = async (read: AssignmentReader) => {
      const verdict = await checkAssignment(read, request(), { requester, self }, opts);
      return verdict.backed === false ? verdict.problem : verdict;
    };
    await expect(problem(none)).resolves.toMatch(/did not reach this node within 0.3 s/);
    await expect(problem(failing)).resolves.toMatch(/could not read assignment .*: conductor unreachable/);
    const started = Date.now();
    await expect(problem(hanging)).resolves.toMatch(/could not read assignment .* within 0.3 s: the read did not answer in time/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("stops, without a verdict, when the requester leaves (also during a hanging read)", async () => {
    for (const read of [async () => null, () => new Promise<null>(() => {})]) {
      const left = new AbortController();
      setTimeout(() => left.abort(), 50);
      const started = Date.now();
      await expect(checkAssignment(read, request(), { requester, self }, { signal: left.signal, waitMs: 30_000 })).resolves.toEqual({ backed: "stopped" });
      expect(Date.now() - started).toBeLessThan(2_000);
    }
  });
});

/** An engine that streams one token every 20 ms up to the task's max_tokens, and stops when aborted. */
function streamingEngine(runs: { calls: number; aborted: number; finished: number; scopes: Array<string | undefined> }) {
  return {
    async generate(req: GenerateRequest): Promise<GenerateResult> {
      runs.calls++;
      runs.scopes.push(req.promptReuseScope);
      req.onStart?.();
      let text = "";
      for (let i = 0; i < req.maxTokens; i++) {
        if (req.signal?.aborted) {
          runs.aborted++;
          return { text, tokens: i, promptTokens: 1, latencyMs: 1, firstTokenMs: 1, model: { name: qwen, sha256: qwenSha }, finishReason: "aborted" };
        }
        await new Promise((r) => setTimeout(r, 20));
        text += "x";
        req.onToken?.("x");
      }
      runs.finished++;
      return { text, tokens: req.maxTokens, promptTokens: 1, latencyMs: 1, firstTokenMs: 1, model: { name: qwen, sha256: qwenSha }, finishReason: "length" };
    },
  };
}

function worker(read: AssignmentReader, waitMs = 5_000, now: () => number = Date.now) {
  const runs = { calls: 0, aborted: 0, finished: 0, scopes: [] as Array<string | undefined> };
  const written: ResultToWrite[] = [];
  const dropped: string[] = [];
  const refusals: string[] = [];
  const w = new JobWorker({
    p2p: {} as never,
    engine: streamingEngine(runs),
    hasModel: () => true,
    modelSha256: () => qwenSha,
    policy: () => loadComputePolicy(defaultComputePolicyFile),
    isMeshMember: () => true,
    results: { write: (r: ResultToWrite) => void written.push(r), drop: (r: { assignment: string }) => void dropped.push(r.assignment) } as never,
    assignments: read,
    assignmentWaitMs: waitMs,
    now,
    agentPubKey: workerKey,
    testExperts: false,
    log: silent,
    emit: () => {},
    metrics: { workerJobFinished: () => {}, workerJobRefused: (reason) => void refusals.push(reason) },
  });
  const serve = async (from: Uint8Array, req = request(), signal = new AbortController().signal) => {
    const frames: Array<{ at: number; frame: JobProgress }> = [];
    const answer = await w.serve(req, from, { signal, emit: async (p) => void frames.push({ at: Date.now(), frame: p as JobProgress }) });
    return { answer, frames: frames.filter((f) => f.frame.type !== "queued") };
  };
  return { serve, runs, written, dropped, refusals };
}

describe("the worker with the assignment check", () => {
  const long = () => request({ task: { ...request().task, maxTokens: 40 } }); // ~800 ms of tokens
  const tokensOf = (frames: Array<{ frame: JobProgress }>) => frames.flatMap((f) => (f.frame.type === "tokens" ? [f.frame.text] : [])).join("");

  it("answers at once, beside the check, and queues the result at once (a restart resumes it)", async () => {
    let arrived = false;
    let reads = 0;
    const w = worker(async () => (reads++, arrived ? found() : null));
    const { answer, frames } = await w.serve(requesterKey); // 16 tokens, ~320 ms
    expect(answer).toMatchObject({ outcome: "done", output: "x".repeat(16) });
    expect(tokensOf(frames)).toBe("x".repeat(16));
    expect(w.written.map((r) => r.assignment)).toEqual([actionHash(11)]); // the assignment has not arrived yet
    arrived = true;
    const readsThen = reads;
    await waitUntil(() => reads > readsThen);
    await new Promise((r) => setTimeout(r, 50));
    expect(w.dropped).toEqual([]);
  });

  it("lets the engine reuse a prompt's start only for the same requester: the scope is its verified key, whatever the task says", async () => {
    const w = worker(async () => found());
    const task = { ...request().task, maxTokens: 2, promptReuseScope: "someone-else" };
    await w.serve(requesterKey, request({ task } as never));
    expect(w.runs.scopes).toEqual([encodeHashToBase64(requesterKey)]);
  });

  it("drops an answered result whose assignment, read after the answer, does not back it", async () => {
    const w = worker(() => new Promise((r) => setTimeout(() => r(found({ epoch: 3 })), 300)));
    const { answer } = await w.serve(requesterKey, request({ task: { ...request().task, maxTokens: 5 } })); // ~100 ms
    expect(answer.outcome).toBe("done");
    expect(w.written).toHaveLength(1);
    await waitUntil(() => w.dropped.length > 0);
    expect(w.dropped).toEqual([actionHash(11)]);
  });

  it("stops the generation of a request its assignment does not back, and writes nothing", async () => {
    const w = worker(async () => found({ assignee: otherKey }));
    const { answer, frames } = await w.serve(requesterKey, long());
    expect(answer).toMatchObject({ outcome: "refused", code: "policy_refused" });
    expect(answer.outcome === "refused" && answer.message).toMatch(/^not run: assignment .* names another worker/);
    expect(tokensOf(frames).length).toBeLessThan(40); // stopped early: it runs beside the check
    expect(w.runs).toMatchObject({ calls: 1, aborted: 1, finished: 0 });
    expect(w.written).toEqual([]);
    expect(w.refusals).toEqual(["unassigned"]);
  });

  it("stops a made-up job when the wait for its assignment is over; one that finished first is answered but never written", async () => {
    const w = worker(async () => null, 300);
    const stopped = await w.serve(requesterKey, long());
    expect(stopped.answer.outcome === "refused" && stopped.answer.message).toMatch(/did not reach this node within 0.3 s/);
    expect(w.runs).toMatchObject({ aborted: 1, finished: 0 });
    const quick = worker(async () => null, 300);
    const { answer } = await quick.serve(requesterKey, request({ task: { ...request().task, maxTokens: 5 } }));
    expect(answer.outcome).toBe("done");
    await new Promise((r) => setTimeout(r, 600));
    // Not read within the wait is not proof: the writer's own retries decide (a slow DHT must not cost an honest worker its accounting).
    expect([quick.written.length, quick.dropped]).toEqual([1, []]);
  });

  it("answers 'cancelled' when the requester leaves, whatever the check", async () => {
    const w = worker(() => new Promise(() => {}), 30_000);
    const left = new AbortController();
    setTimeout(() => left.abort(), 100);
    const { answer } = await w.serve(requesterKey, long(), left.signal);
    expect(answer).toMatchObject({ outcome: "refused", code: "cancelled" });
    expect(w.written).toEqual([]);
    expect(w.refusals).toEqual(["cancelled"]);
  });

  it(`checks a requester's jobs before they run for ${CHECK_FIRST_MS / 60_000} minutes after one of its requests was not backed`, async () => {
    let clock = NOW;
    const byAssignment: Record<string, AssignmentWithJob | null> = {
      [actionHash(11)]: found({ assignee: otherKey }), // names another worker
      [actionHash(12)]: null, // never arrives: a made-up job
      [actionHash(13)]: found(),
      [actionHash(14)]: found({ author: otherKey }), // another requester's own job
      [actionHash(15)]: null,
    };
    const w = worker(async (a) => byAssignment[a] ?? null, 300, () => clock);
    const ask = (from: Uint8Array, n: number) => w.serve(from, request({ assignment: actionHash(n), task: { ...request().task, maxTokens: 40 } }));
    expect((await ask(requesterKey, 11)).answer.outcome).toBe("refused");
    expect(w.runs.calls).toBe(1); // generated beside the check, then stopped
    // From now on, the requester's jobs wait for their check: a made-up one never runs.
    expect((await ask(requesterKey, 12)).answer.outcome).toBe("refused");
    expect(w.runs.calls).toBe(1);
    // A backed one runs once checked; another requester is not affected.
    expect((await ask(requesterKey, 13)).answer.outcome).toBe("done");
    expect((await ask(otherKey, 14)).answer.outcome).toBe("done");
    expect(w.runs.calls).toBe(3);
    // Later, the requester's jobs start beside their check again.
    clock += CHECK_FIRST_MS;
    expect((await ask(requesterKey, 15)).answer.outcome).toBe("refused");
    expect(w.runs.calls).toBe(4);
  });

  it(`runs a requester's job only once checked while ${MAX_UNVERIFIED_PER_REQUESTER} of its checks are open`, async () => {
    const arrivesAfterMs = 2_500;
    const w = worker((a) => new Promise((r) => setTimeout(() => r(found()), arrivesAfterMs)).then(() => found()), 5_000);
    const short = (n: number) => request({ assignment: actionHash(30 + n), task: { ...request().task, maxTokens: 3 } });
    const started = Date.now();
    for (let i = 0; i < MAX_UNVERIFIED_PER_REQUESTER; i++) expect((await w.serve(requesterKey, short(i))).answer.outcome).toBe("done");
    expect(Date.now() - started).toBeLessThan(arrivesAfterMs); // beside their checks
    const fifth = await w.serve(requesterKey, short(9));
    expect(fifth.answer.outcome).toBe("done");
    expect(Date.now() - started).toBeGreaterThanOrEqual(arrivesAfterMs); // it waited for its own check
    await waitUntil(() => w.written.length === MAX_UNVERIFIED_PER_REQUESTER + 1);
  });

  it("runs this node's own slots without reading an assignment", async () => {
    let reads = 0;
    const w = worker(async () => (reads++, null), 300);
    const { answer } = await w.serve(workerKey);
    expect(answer.outcome).toBe("done");
    expect(reads).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(w.written).toHaveLength(1);
  });

  it(`serves one assignment at most ${SERVES_PER_ASSIGNMENT} times (the requester's retry after a broken stream)`, async () => {
    const w = worker(async () => found());
    for (let i = 0; i < SERVES_PER_ASSIGNMENT; i++) expect((await w.serve(requesterKey)).answer.outcome).toBe("done");
    const replay = await w.serve(requesterKey);
    expect(replay.answer.outcome === "refused" && replay.answer.message).toMatch(/already served 2 times/);
    expect(w.runs.finished).toBe(SERVES_PER_ASSIGNMENT);
    // A new epoch is a new assignment.
    const next = await w.serve(requesterKey, request({ assignment: actionHash(13) }));
    expect(next.answer.outcome).toBe("done");
  });
});

async function waitUntil(done: () => boolean, ms = 3_000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
