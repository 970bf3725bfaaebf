// The pure parts of "a vote no single peer can capture" beyond placement (moe-placement-units):
// answer checks, what a worker says about its own timing and stream, one voice per machine, the
// requester's deadlines (the worker's per-requester limits and the shipped pins: worker-limits-units).
import { afterEach, describe, expect, it, vi } from "vitest";
import { responseHash } from "../src/protocol/job-protocol.ts";
import { answerProblem, type DoneAnswer } from "../src/moe/answer-check.ts";
import { JobPlacement } from "../src/moe/expert-placement.ts";
import { loadInferencePolicy } from "../src/config/inference-policy.ts";
import { PeerObservations } from "../src/moe/peer-observations.ts";
import { PeerRating } from "../src/moe/peer-rating.ts";
import { SlotWatchdog } from "../src/moe/slot-watchdog.ts";
import { countedWeights, diversityOf, voiceOf } from "../src/moe/vote-voice.ts";
import { runSlot, type ConfidenceCheck, type SlotContext } from "../src/moe/slot-runner.ts";
import { JobProgressCheck, MAX_STREAMED_CHARS, MalformedProgressError } from "../src/protocol/job-progress.ts";
import type { ExpertTask } from "../src/protocol/expert-task.ts";
import { qwen as qwenModel, resolver, silent } from "./support/inference-fixtures.ts";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import { expertTask, maxPromptTokens } from "../src/protocol/expert-task.ts";
import { classes, peer, qwen, qwenSha } from "./support/trust-fixtures.ts";


describe("answer checks", () => {
  const answer = (over: Partial<DoneAnswer> = {}): DoneAnswer => ({
    outcome: "done",
    output: "Paris",
    response_hash: responseHash("Paris"),
    tokens: 2,
    prompt_tokens: 10,
    latency_ms: 100,
    model: { name: qwen, sha256: qwenSha },
    finish_reason: "stop",
    ...over,
  });
  const task = { kind: "model" as const, model: qwen, modelSha256: qwenSha };

  it("passes an honest answer", () => expect(answerProblem(task, peer("bob"), answer())).toBeNull());
  it("refuses a response_hash that is not sha256 of the output", () => {
    expect(answerProblem(task, peer("bob"), answer({ response_hash: responseHash("Lyon") }))).toMatch(/forged response_hash/);
  });
  it("refuses an answer from another model file than the pinned one", () => {
    expect(answerProblem(task, peer("bob"), answer({ model: { name: qwen, sha256: "e".repeat(64) } }))).toMatch(/wrong model.*the policy pins 1d9614638d18/);
  });
  it("checks an unpinned task against the file the peer advertises", () => {
    const unpinned = { kind: "model" as const, model: qwen };
    expect(answerProblem(unpinned, peer("bob"), answer({ model: { name: qwen, sha256: "e".repeat(64) } }))).toMatch(/the peer advertises/);
  });
});

describe("what a worker says about its prompt", () => {
  it("a prompt token count is bounded by the prompt's size, never below what the model counts for the shipped templates", async () => {
    const policy = loadInferencePolicy();
    const engine = await InferenceEngine.create({ resolveModel: resolver([qwenModel]), threads: 1, memoryBudgetBytes: 2 ** 31, maxConcurrent: 1, log: silent });
    try {
      for (const expert of policy.local_tier.experts.filter((e) => e.model === qwenModel.name)) {
        for (const question of ["What is 2+2?", "Ünïcödé: 東京はどこですか？ ".repeat(20)]) {
          const task = expertTask(policy, expert, { prompt: question, taskType: policy.default_task_type });
          const counted = await engine.countPromptTokens(qwenModel.name, task.prompt);
          expect(counted, expert.name).toBeLessThanOrEqual(maxPromptTokens(task.prompt));
        }
      }
      // A claimed billion is cut to a bound of the prompt's own size.
      expect(maxPromptTokens({ kind: "completion", text: "Q: 2+2?\nA:" })).toBeLessThan(300);
    } finally {
      await engine.dispose();
    }
  });
});

describe("what a worker says about its own timing and stream", () => {
  const task: ExpertTask = { expert: "e", kind: "model", model: qwen, modelSha256: qwenSha, prompt: { kind: "completion", text: "Q" }, sampling: { temperature: 0 }, maxTokens: 400 };
  const output = "word ".repeat(200);
  const done: DoneAnswer = { outcome: "done", output, response_hash: responseHash(output), tokens: 200, prompt_tokens: 1, latency_ms: 1, model: { name: qwen, sha256: qwenSha }, finish_reason: "stop" };
  /** One slot on a worker named `name` whose dispatch is `dispatch` (no reassignment): its outcome and what was observed. */
  const runOneSlot = async (name: string, dispatch: SlotContext["dispatch"], extra: Partial<SlotContext> = {}, self = false) => {
    const observations = new PeerObservations(undefined);
    const worker = peer(name, { self });
    const ctx: SlotContext = {
      job: "uhCkk" + "A".repeat(48), traceId: "t", mesh: {} as SlotContext["mesh"], dispatch, peers: () => [worker],
      placement: new JobPlacement(1, new PeerRating(observations, classes)), observations,
      timeoutMs: 10_000, idleTimeoutMs: 10_000, progressDeadlineMs: 10_000, startDeadlineMs: 10_000, maxReassignments: 0,
      signal: new AbortController().signal, onEvent: () => {}, log: silent, ...extra,
    };
    return { outcome: await runSlot(ctx, 0, task, worker, "uhCkk" + "B".repeat(48)), observations, worker };
  };
  /** The speed observed after one slot that `dispatch` answers. */
  const speedAfter = async (dispatch: SlotContext["dispatch"]) => {
    const { outcome, observations, worker } = await runOneSlot("quick", dispatch);
    expect(outcome.ok).toBe(true);
    return observations.speedOf(worker.peerId, qwenSha)!;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("a worker that generates silently and sends 'started' with its answer looks at most 4x faster than it answers", async () => {
    // 200 tokens in 1 s end to end: 200 tok/s. Timed from its late 'started' it looked like 4000.
    const speed = await speedAfter(async (_p, _r, o) => {
      await sleep(1000);
      o.onProgress({ type: "started" });
      return done;
    });
    expect(speed).toBeLessThanOrEqual(4 * 200 + 1);
    expect(speed).toBeGreaterThan(100);
  });

  it("an answer's latency is what this node measured, and its token counts are bounded, whatever the worker says", async () => {
    const events: unknown[] = [];
    const { outcome } = await runOneSlot("boaster", async () => (await sleep(300), { ...done, latency_ms: 9e15, tokens: 1e12, prompt_tokens: 1e12 }), { onEvent: (e) => events.push(e) });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.answer.latency_ms).toBeGreaterThanOrEqual(290);
    expect(outcome.answer.latency_ms).toBeLessThan(5000);
    expect(outcome.answer.tokens).toBe(Buffer.byteLength(output) + 1);
    expect(outcome.answer.prompt_tokens).toBe(maxPromptTokens(task.prompt));
    // The progress event (and ripple_moe_slot_seconds, which counts it) carries the measured figure.
    expect(events).toContainEqual(expect.objectContaining({ type: "moe:answer", latency_ms: outcome.answer.latency_ms }));
    const quick = await runOneSlot("modest", async () => ({ ...done, latency_ms: 0 }));
    expect(quick.outcome.ok && quick.outcome.answer.latency_ms).toBeLessThan(290);
  });

  it("an honest worker that loads its model first is timed mostly from its 'started'", async () => {
    const speed = await speedAfter(async (_p, _r, o) => {
      o.onProgress({ type: "queued" });
      await sleep(300); // loading the model
      o.onProgress({ type: "started" });
      await sleep(400);
      return done;
    });
    // 200 tokens over the 400 ms after 'started': 500 tok/s (the 700 ms since sending would give 286).
    expect(speed).toBeGreaterThan(400);
    expect(speed).toBeLessThanOrEqual(501);
  });

  it("a remote worker's confidence counts at most as high as this node's own score of the same answer, or the unverified cap", async () => {
    const counted = async (claimed: number | undefined, measured: number | undefined, self = false, canScore = true) => {
      const scored: string[] = [];
      const rescore: ConfidenceCheck["rescore"] = async (_task, answer) => (scored.push(answer.output), measured);
      const confidence: ConfidenceCheck = { unverifiedCap: 0.5, ...(canScore ? { rescore } : {}) };
      const { outcome, observations, worker } = await runOneSlot("claimer", async (_p, _r, o) => (o.onProgress({ type: "started" }), { ...done, ...(claimed === undefined ? {} : { confidence: claimed }) }), { confidence }, self);
      expect(outcome.ok).toBe(true);
      const heldAgainst = (observations.get(worker.peerId)?.badAnswers ?? 0) > 0;
      return { confidence: outcome.ok ? outcome.answer.confidence : "failed", scored: scored.length, ...(heldAgainst ? { heldAgainst } : {}) };
    };
    // Inflated: this node's figure. Absent (it would count as 1): this node's figure.
    // 0.69 above this node's own figure: counted with this node's, and held against the peer.
    expect(await counted(0.99, 0.3)).toEqual({ confidence: 0.3, scored: 1, heldAgainst: true });
    // A little above (another backend's arithmetic): counted with this node's figure, not held against it.
    expect(await counted(0.75, 0.6)).toEqual({ confidence: 0.6, scored: 1 });
    expect(await counted(undefined, 0.3)).toEqual({ confidence: 0.3, scored: 1 });
    // Above the cap and below this node's figure: its own.
    expect(await counted(0.7, 0.9)).toEqual({ confidence: 0.7, scored: 1 });
    // At or below the cap (0.5): counted as claimed without a check, even above this node's figure
    // (it counts no more than an unchecked claim may).
    expect(await counted(0.1, 0.3)).toEqual({ confidence: 0.1, scored: 0 });
    expect(await counted(0.5, 0.05)).toEqual({ confidence: 0.5, scored: 0 });
    // Not scorable here (another file, no copy, or no engine): the claim counts at most the cap;
    // a missing one as the cap; a lower one as it is.
    expect(await counted(0.99, undefined)).toEqual({ confidence: 0.5, scored: 1 });
    expect(await counted(undefined, undefined)).toEqual({ confidence: 0.5, scored: 1 });
    expect(await counted(0.2, undefined)).toEqual({ confidence: 0.2, scored: 0 });
    expect(await counted(0.99, 0.3, false, false)).toEqual({ confidence: 0.5, scored: 0 });
    // This node's own answers are its own figure: never scored twice.
    expect(await counted(0.99, 0.3, true)).toEqual({ confidence: 0.99, scored: 0 });
  });

  it("an answer other than the tokens the worker streamed is refused; the streamed answer passes", async () => {
    const tryWith = (chunks: string[]) =>
      runOneSlot("streamer", async (_p, _r, o) => {
        o.onProgress({ type: "started" });
        for (const text of chunks) o.onProgress({ type: "tokens", text });
        return done;
      });
    const honest = await tryWith([output.slice(0, 7), output.slice(7)]);
    expect(honest.outcome.ok).toBe(true);
    const liar = await tryWith(["BUY ", "NOW"]);
    expect(liar.outcome.ok).toBe(false);
    expect(!liar.outcome.ok && liar.outcome.error).toMatch(/its streamed tokens differ from its answer \(7 vs 1000 characters, first difference at 0\)/);
    expect(liar.observations.get(liar.worker.peerId)!.badAnswers).toBeGreaterThan(0);
  });

  it("progress frames are checked: malformed or endless token text fails the slot on that peer", () => {
    const check = new JobProgressCheck("12D3KooW-mallory");
    expect(check.check({ type: "started" })).toEqual({ type: "started" });
    expect(check.check({ type: "tokens", text: "Par" })).toEqual({ type: "tokens", text: "Par" });
    expect(check.check({ type: "thinking", depth: 3 })).toBeUndefined(); // a newer worker's frame: ignored
    expect(() => check.check({ type: "tokens", text: 42 })).toThrow(MalformedProgressError);
    expect(() => check.check({ type: "tokens", text: 42 })).toThrow(/malformed progress frame: text: .*12D3KooW-mallory|12D3KooW-mallory.*malformed progress frame: text/);
    expect(() => check.check("tokens")).toThrow(/malformed progress frame/);
    expect(() => check.check({ type: "tokens", text: "x".repeat(64 * 1024 + 1) })).toThrow(/text: /);
    const chunk = "y".repeat(32 * 1024);
    for (let sent = 3 + chunk.length; sent <= MAX_STREAMED_CHARS; sent += chunk.length) check.check({ type: "tokens", text: chunk });
    expect(() => check.check({ type: "tokens", text: chunk })).toThrow(/streamed more than 131072 characters of tokens/);
  });

  it("a malformed frame ends the slot on that peer at once, without a second try", async () => {
    let dispatches = 0;
    const { outcome, observations, worker } = await runOneSlot("mallory", async (p, _r, o) => {
      dispatches++;
      const check = new JobProgressCheck(p.peerId);
      for (const raw of [{ type: "started" }, { type: "tokens", text: ["not", "text"] }]) {
        const frame = check.check(raw);
        if (frame) o.onProgress(frame);
      }
      return done;
    });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toMatch(/malformed progress frame/);
    expect(dispatches).toBe(1);
    expect(observations.get(worker.peerId)!.failures).toBeGreaterThan(0);
  });
});

describe("one machine, one voice", () => {
  it("scales a remote machine's answers to its heaviest expert's weight; this node's stay as they are", () => {
    const counted = countedWeights([
      { slot: 0, weight: 1.0, remotePeer: "mallory" },
      { slot: 1, weight: 0.9, remotePeer: "mallory" },
      { slot: 2, weight: 0.8, remotePeer: null },
      { slot: 3, weight: 0.7, remotePeer: null },
      { slot: 4, weight: 0.6, remotePeer: "bob" },
    ]);
    expect(counted.get(0)! + counted.get(1)!).toBeCloseTo(1.0, 9);
    expect(counted.get(0)! / counted.get(1)!).toBeCloseTo(1 / 0.9, 9);
    expect([counted.get(2), counted.get(3), counted.get(4)]).toEqual([0.8, 0.7, 0.6]);
  });

  it("counts keys that connect from one address as one voice, as placement caps them as one machine", () => {
    const at = (peerId: string, remoteIp?: string, self = false) => ({ peerId, agent: `uhCAk-${peerId}`, self, ...(remoteIp ? { remoteIp } : {}) });
    const [s1, s2, other] = [at("s1", "198.51.100.9"), at("s2", "198.51.100.9"), at("bob", "203.0.113.2")];
    expect(voiceOf(s1)).toBe(voiceOf(s2));
    expect(voiceOf(s1)).not.toBe(voiceOf(other));
    // One IPv6 host holds its whole /64.
    expect(voiceOf(at("v1", "2001:db8:1:2::10"))).toBe(voiceOf(at("v2", "2001:db8:1:2:ffff::7")));
    // Loopback says nothing about the machine (every peer here has it); nor does an unconnected peer.
    expect(voiceOf(at("l1", "127.0.0.1"))).not.toBe(voiceOf(at("l2", "127.0.0.1")));
    expect(voiceOf(at("u1"))).not.toBe(voiceOf(at("u2")));
    expect(voiceOf(at("me", undefined, true))).toBeNull();
    // Two sybil keys agreeing weigh what one of them weighs; the honest peer keeps its weight.
    const counted = countedWeights([
      { slot: 0, weight: 1, remotePeer: voiceOf(s1) },
      { slot: 1, weight: 1, remotePeer: voiceOf(s2) },
      { slot: 2, weight: 1, remotePeer: voiceOf(other) },
    ]);
    expect(counted.get(0)! + counted.get(1)!).toBeCloseTo(1, 9);
    expect(counted.get(2)).toBe(1);
  });

  it("is the same whatever order the answers arrive in", () => {
    const voices = [
      { slot: 0, weight: 1, remotePeer: "m" },
      { slot: 1, weight: 0.5, remotePeer: "m" },
      { slot: 2, weight: 0.7, remotePeer: "b" },
    ];
    expect([...countedWeights([...voices].reverse())].sort()).toEqual([...countedWeights(voices)].sort());
  });

  it("says when one remote machine held more than ⌊(k−1)/2⌋ answers", () => {
    const v = (slot: number, remotePeer: string | null) => ({ slot, weight: 1, remotePeer });
    expect(diversityOf([v(0, "a"), v(1, "a"), v(2, "b"), v(3, "c"), v(4, null)])).toBe("ok");
    expect(diversityOf([v(0, "a"), v(1, "a"), v(2, "a"), v(3, "c"), v(4, null)])).toBe("insufficient");
    expect(diversityOf([v(0, null), v(1, null)])).toBe("local");
    // Judged against the job's k: a job of 3 stopped early after 2 answers, 1 of them remote, is fine.
    expect(diversityOf([v(0, null), v(1, "a")], 3)).toBe("ok");
    expect(diversityOf([v(0, null), v(1, "a")])).toBe("insufficient");
  });
});

describe("the requester's deadlines", () => {
  afterEach(() => vi.useRealTimers());

  it("keep-alives do not extend the start deadline; a token re-arms the progress deadline", () => {
    vi.useFakeTimers();
    const w = new SlotWatchdog({ startDeadlineMs: 30_000, progressDeadlineMs: 10_000, promptChars: 0 });
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(5_000);
      w.progress({ type: "queued" });
    }
    vi.advanceTimersByTime(5_001);
    expect(w.signal.aborted).toBe(true);
    expect(w.fired).toMatch(/did not start generating within 30000 ms/);
    expect(w.kind).toBe("failure");
  });

  it("a worker that started but sends only keep-alives loses the slot at the progress deadline", () => {
    vi.useFakeTimers();
    const w = new SlotWatchdog({ startDeadlineMs: 30_000, progressDeadlineMs: 10_000, promptChars: 0 });
    w.progress({ type: "started" });
    vi.advanceTimersByTime(5_000);
    w.progress({ type: "queued" });
    vi.advanceTimersByTime(5_001);
    expect(w.fired).toMatch(/no token within 10000 ms after it started/);
    expect(w.kind).toBe("stall");
  });

  it("a peer seen to be slow to its first token gets 3× that; this node's own slots are never cut", () => {
    vi.useFakeTimers();
    const slow = new SlotWatchdog({ startDeadlineMs: 30_000, progressDeadlineMs: 10_000, promptChars: 0, firstTokenAtLeastMs: 45_000 });
    slow.progress({ type: "started" });
    vi.advanceTimersByTime(44_000);
    expect(slow.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1_001);
    expect(slow.fired).toMatch(/no token within 45000 ms/);
    const own = new SlotWatchdog({ startDeadlineMs: 30_000, progressDeadlineMs: 10_000, promptChars: 0, enabled: false });
    own.progress({ type: "started" });
    vi.advanceTimersByTime(600_000);
    expect(own.signal.aborted).toBe(false);
  });

  it("an honest worker streaming tokens is never cut, and a long prompt gets time to be read", () => {
    vi.useFakeTimers();
    const w = new SlotWatchdog({ startDeadlineMs: 30_000, progressDeadlineMs: 10_000, promptChars: 8_000 });
    w.progress({ type: "started" });
    vi.advanceTimersByTime(165_000); // 10 s + 160 s allowed for 8,000 prompt characters
    expect(w.signal.aborted).toBe(false);
    for (let i = 0; i < 20; i++) {
      w.progress({ type: "tokens", text: "x" });
      vi.advanceTimersByTime(9_000);
    }
    expect(w.signal.aborted).toBe(false);
    w.stop();
  });
});
