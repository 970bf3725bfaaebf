// The daemon's MOE job history (the web UI's Jobs page): what it records while a job runs and after,
// the events it announces, what it keeps when full, and what survives a restart through its file.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import type { MoeEvent } from "../src/api/inference-source.ts";
import { MoeHistory, type JobHistoryEvent } from "../src/moe/moe-history.ts";
import type { MoeRequest, MoeResult } from "../src/moe/moe-types.ts";

function result(traceId: string, over: Partial<MoeResult> = {}): MoeResult {
  return {
    response: "Paris",
    consensus_score: 0.8,
    consensus_reached: true,
    model_votes: [
      { model: "qwen", expert: "qwen-chat", peer: "bob", response_hash: "a".repeat(64), weight: 1, counted_weight: 1, peer_id: "12D3KooWbob", latency_ms: 900, agreed: true, slot: 0, epoch: 1, tokens: 3, prompt_tokens: 30, output: "Paris" },
      { model: "gemma", expert: "gemma-fewshot", peer: "alice", response_hash: "b".repeat(64), weight: 0.25, counted_weight: 0.25, peer_id: null, latency_ms: 700, agreed: false, slot: 1, epoch: 1, tokens: 2, prompt_tokens: 80, output: "Lyon" },
    ],
    trace_id: traceId,
    task_type: "short_answer",
    job: "uhCkkJOB",
    wall_ms: 1200,
    failed_slots: [],
    diversity: "ok",
    rejected_answers: [],
    cancelled_slots: [],
    stopped_early: false,
    ...over,
  };
}

/** A fake coordinator: plays `events`, then answers (or throws), and says which request it got. */
function fakeMoe(events: MoeEvent[], outcome: "ok" | Error = "ok") {
  const seen: MoeRequest[] = [];
  const call = async (req: MoeRequest, ctl: { signal: AbortSignal; onEvent?: (e: MoeEvent) => void }): Promise<MoeResult> => {
    seen.push(req);
    for (const e of events) ctl.onEvent?.(e);
    if (outcome instanceof Error) throw outcome;
    return result(req.traceId!);
  };
  return { call, seen };
}

const signal = new AbortController().signal;

describe("MOE job history", () => {
  it("records a job's slots from its events, then its result, and announces each step", async () => {
    const emitted: JobHistoryEvent[] = [];
    let clock = 1000;
    const history = new MoeHistory({ emit: (e) => emitted.push(e), now: () => (clock += 100) });
    const events: MoeEvent[] = [
      { type: "moe:assigned", slot: 1, expert: "gemma-fewshot", model: "gemma", peer: "alice", epoch: 1 },
      { type: "moe:assigned", slot: 0, expert: "qwen-chat", model: "qwen", peer: "bob", epoch: 1 },
      { type: "moe:token", slot: 0, text: "Par" },
      { type: "moe:token", slot: 0, text: "is" },
      { type: "moe:answer", slot: 0, expert: "qwen-chat", peer: "bob", latency_ms: 900 },
    ];
    const { call, seen } = fakeMoe(events);
    const callerSaw: MoeEvent[] = [];
    const r = await history.run({ prompt: "Capital of France?", experts: 2 }, { signal, onEvent: (e) => callerSaw.push(e) }, call);

    // A trace id is chosen before the call, so the record and the result share it.
    expect(seen[0]!.traceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.trace_id).toBe(seen[0]!.traceId);
    expect(callerSaw).toEqual(events);

    const job = history.get(r.trace_id)!;
    expect(job).toMatchObject({ prompt: "Capital of France?", experts: 2, status: "done", started_ms: 1100, finished_ms: 1200, task_type: "short_answer", error: null });
    expect(job.slots.map((s) => s.slot)).toEqual([0, 1]);
    expect(job.slots[0]).toMatchObject({ expert: "qwen-chat", peer: "bob", text: "Paris", chunks: 2, answered: true, latency_ms: 900 });
    // Slot 1's answer event never came: the result's vote marks it answered all the same.
    expect(job.slots[1]).toMatchObject({ expert: "gemma-fewshot", peer: "alice", text: "", answered: true, latency_ms: 700 });
    expect(job.result).toEqual(r);

    expect(emitted.map((e) => e.type)).toEqual(["moe:job-started", ...events.map(() => "moe:job-progress"), "moe:job-finished"]);
    expect(emitted[0]).toMatchObject({ job: { trace_id: r.trace_id, status: "running", slots: 0, answered: 0, response: null } });
    expect(emitted[3]).toEqual({ type: "moe:job-progress", trace_id: r.trace_id, event: events[2] });
    expect(emitted.at(-1)).toMatchObject({ job: { status: "done", response: "Paris", consensus_score: 0.8, consensus_reached: true, slots: 2, answered: 2, peers: ["alice", "bob"] } });
  });

  it("keeps a caller's trace id and records a failure with its message and code", async () => {
    const history = new MoeHistory();
    const err = Object.assign(new Error("no node serves the model"), { code: "model_not_found" });
    const { call } = fakeMoe([{ type: "moe:assigned", slot: 0, expert: "e", model: "m", peer: "bob", epoch: 1 }], err);
    await expect(history.run({ prompt: "x", traceId: "trace-1" }, { signal }, call)).rejects.toThrow("no node serves");
    expect(history.get("trace-1")).toMatchObject({ status: "failed", error: { message: "no node serves the model", code: "model_not_found" }, result: null });
    expect(history.list()[0]).toMatchObject({ trace_id: "trace-1", status: "failed", error: "no node serves the model", peers: ["bob"] });
  });

  it("a reassigned slot starts its text again on the new peer and remembers why", async () => {
    const history = new MoeHistory();
    const { call } = fakeMoe([
      { type: "moe:assigned", slot: 0, expert: "e", model: "m", peer: "bob", epoch: 1 },
      { type: "moe:token", slot: 0, text: "half an ans" },
      { type: "moe:reassigned", slot: 0, expert: "e", from: "bob", to: "carol", epoch: 2, reason: "worker went silent" },
      { type: "moe:token", slot: 0, text: "Paris" },
    ]);
    const carolVotes = async (req: MoeRequest, ctl: { signal: AbortSignal; onEvent?: (e: MoeEvent) => void }) => {
      const base = await call(req, ctl);
      return { ...base, model_votes: [{ ...base.model_votes[0]!, expert: "e", peer: "carol", epoch: 2 }] };
    };
    const r = await history.run({ prompt: "x" }, { signal }, carolVotes);
    expect(history.get(r.trace_id)!.slots[0]).toMatchObject({ peer: "carol", epoch: 2, text: "Paris", reassigned: [{ from: "bob", to: "carol", epoch: 2, reason: "worker went silent" }] });
  });

  it("caps the streamed text per slot and the prompt", async () => {
    const history = new MoeHistory({ maxSlotTextChars: 10, maxPromptChars: 5 });
    const { call } = fakeMoe([
      { type: "moe:token", slot: 0, text: "0123456" },
      { type: "moe:token", slot: 0, text: "789abc" },
      { type: "moe:token", slot: 0, text: "more" },
    ]);
    const r = await history.run({ prompt: "a long prompt" }, { signal }, call);
    const job = history.get(r.trace_id)!;
    expect(job.prompt).toBe("a lon");
    expect(job.slots[0]).toMatchObject({ text: "0123456789", truncated: true, chunks: 3 });
  });

  it("keeps the last N jobs, newest first, dropping finished ones before a running one", async () => {
    const history = new MoeHistory({ limit: 2 });
    let release!: () => void;
    const slow = (req: MoeRequest) => new Promise<MoeResult>((resolve) => (release = () => resolve(result(req.traceId!))));
    const running = history.run({ prompt: "slow", traceId: "t-slow" }, { signal }, slow);
    await history.run({ prompt: "a", traceId: "t-a" }, { signal }, fakeMoe([]).call);
    await history.run({ prompt: "b", traceId: "t-b" }, { signal }, fakeMoe([]).call);
    // t-a was the oldest finished one; the older but running t-slow stays.
    expect(history.list().map((j) => j.trace_id)).toEqual(["t-b", "t-slow"]);
    release();
    await running;
    expect(history.get("t-slow")!.status).toBe("done");
    await history.run({ prompt: "c", traceId: "t-c" }, { signal }, fakeMoe([]).call);
    expect(history.list().map((j) => j.trace_id)).toEqual(["t-c", "t-b"]);
  });
});

describe("MOE job history across restarts (DATA_DIR/moe-history.json)", () => {
  const dir = mkdtempSync(join(tmpdir(), "rm-moe-history-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const log = pino({ level: "silent" });

  it("a new history reads back the last runs, results and slots included; a run cut off by the stop is failed, saying so", async () => {
    const file = join(dir, "history.json");
    const first = new MoeHistory({ limit: 3, persist: { file, log } });
    await first.run({ prompt: "done one", traceId: "t-1" }, { signal }, fakeMoe([{ type: "moe:assigned", slot: 0, expert: "qwen-chat", model: "qwen", peer: "bob", epoch: 1 }, { type: "moe:token", slot: 0, text: "Paris" }]).call);
    await first.run({ prompt: "failed one", traceId: "t-2" }, { signal }, fakeMoe([], new Error("no peer")).call).catch(() => undefined);
    // Still running when the node stops: saved at its start.
    void first.run({ prompt: "cut off", traceId: "t-3" }, { signal }, () => new Promise<MoeResult>(() => {}));
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, "utf8")).toContain('"prompt":"cut off"');

    const second = new MoeHistory({ limit: 3, persist: { file, log }, now: () => 42 });
    expect(second.list().map((j) => [j.trace_id, j.status])).toEqual([["t-3", "failed"], ["t-2", "failed"], ["t-1", "done"]]);
    expect(second.get("t-1")!.result?.response).toBe("Paris");
    expect(second.get("t-1")!.slots[0]).toMatchObject({ peer: "bob", text: "Paris" });
    expect(second.get("t-2")!.error?.message).toBe("no peer");
    expect(second.get("t-3")).toMatchObject({ finished_ms: 42, error: { message: "the node stopped while this job ran" } });
    // New runs go on from there, within the limit.
    await second.run({ prompt: "after restart", traceId: "t-4" }, { signal }, fakeMoe([]).call);
    expect(new MoeHistory({ limit: 3, persist: { file, log } }).list().map((j) => j.trace_id)).toEqual(["t-4", "t-3", "t-2"]);
  });

  it("sets a damaged file aside and skips damaged runs, starting with what is readable", () => {
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ not json");
    expect(new MoeHistory({ persist: { file: broken, log } }).list()).toEqual([]);
    expect(existsSync(`${broken}.bad`)).toBe(true);
    const partial = join(dir, "partial.json");
    const good = { trace_id: "t-ok", prompt: "p", task_type: null, experts: null, status: "done", started_ms: 1, finished_ms: 2, slots: [], result: null, error: null };
    const nullVote = { ...good, trace_id: "t-null-vote", result: { response: "x", consensus_score: 1, consensus_reached: true, model_votes: [null], failed_slots: [] } };
    writeFileSync(partial, JSON.stringify({ version: 1, jobs: [good, { trace_id: 7 }, { ...good, trace_id: "t-bad", status: "exploded" }, nullVote] }));
    expect(new MoeHistory({ persist: { file: partial, log } }).list().map((j) => j.trace_id)).toEqual(["t-ok"]);
  });
});
