// The daemon's in-memory MOE job history (the web UI's Jobs page): what it records while a job
// runs and after, the events it announces, and what it keeps when full.
import { describe, expect, it } from "vitest";
import type { MoeEvent } from "../src/api/inference-source.ts";
import { MoeHistory, type JobHistoryEvent } from "../src/moe/moe-history.ts";
import type { MoeRequest, MoeResult } from "../src/moe/moe-types.ts";

function result(traceId: string, over: Partial<MoeResult> = {}): MoeResult {
  return {
    response: "Paris",
    consensus_score: 0.8,
    consensus_reached: true,
    model_votes: [
      { model: "qwen", expert: "qwen-chat", peer: "bob", response_hash: "a".repeat(64), weight: 1, counted_weight: 1, peer_id: "12D3KooWbob", latency_ms: 900, agreed: true, slot: 0, epoch: 1, tokens: 3, output: "Paris" },
      { model: "gemma", expert: "gemma-fewshot", peer: "alice", response_hash: "b".repeat(64), weight: 0.25, counted_weight: 0.25, peer_id: null, latency_ms: 700, agreed: false, slot: 1, epoch: 1, tokens: 2, output: "Lyon" },
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
