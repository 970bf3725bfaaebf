// The last N MOE runs of this node, in memory, for the web UI's Jobs page: each run's request, the
// live state of its slots (expert, model, peer, epoch, streamed text) while it runs, then its result or
// error. The daemon wraps its inference source's `moe()` with `run()`, so the HTTP routes, the OpenAI
// route and the UI all go through it. Changes are announced as events (`moe:job-started`,
// `moe:job-progress` with the MoeEvent, `moe:job-finished`) that the local API broadcasts on
// /v1/events; a reader that missed some fetches GET /v1/jobs/:trace for the whole record.
// With a file (moe-history-file.ts) the runs survive a restart: saved whenever a run starts or ends.
import { randomUUID } from "node:crypto";
import type { JobHistoryEvent, JobRecord, JobSlot, JobStatus, JobSummary, MoeEvent, MoeRequest, MoeResult } from "@ripple-mesh/api-types";
import type { Logger } from "../log.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import { loadHistory, saveHistory } from "./moe-history-file.ts";

export type { JobHistoryEvent, JobRecord, JobSlot, JobStatus, JobSummary };

export interface MoeHistoryOptions {
  /** Runs kept (oldest dropped first). Default 50. */
  limit?: number;
  /** Streamed text kept per slot. Default 4000 characters. */
  maxSlotTextChars?: number;
  /** Prompt kept per job. Default 2000 characters. */
  maxPromptChars?: number;
  emit?: (event: JobHistoryEvent) => void;
  now?: () => number;
  /** Counts every run's outcome, slot latencies and reassignments (GET /metrics). */
  metrics?: Pick<NodeMetrics, "moeEvent" | "moeJobFinished">;
  /** Where the runs are kept across restarts (moe-history-file.ts), with the logger for its troubles. */
  persist?: { file: string; log: Logger };
}

type MoeCall = (req: MoeRequest, ctl: { signal: AbortSignal; onEvent?: (e: MoeEvent) => void }) => Promise<MoeResult>;

export class MoeHistory {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly limit: number;
  private readonly maxSlotTextChars: number;
  private readonly maxPromptChars: number;
  private readonly emit: (event: JobHistoryEvent) => void;
  private readonly now: () => number;
  private readonly metrics: MoeHistoryOptions["metrics"];
  private readonly persist: MoeHistoryOptions["persist"];

  constructor(opts: MoeHistoryOptions = {}) {
    this.limit = Math.max(1, opts.limit ?? 50);
    this.maxSlotTextChars = opts.maxSlotTextChars ?? 4000;
    this.maxPromptChars = opts.maxPromptChars ?? 2000;
    this.emit = opts.emit ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.metrics = opts.metrics;
    this.persist = opts.persist;
    if (this.persist) for (const job of loadHistory(this.persist.file, this.persist.log, this.now())) this.add(job);
  }

  private save(): void {
    if (this.persist) saveHistory(this.persist.file, [...this.jobs.values()], this.persist.log);
  }

  /**
   * Runs `call` and records it. A request without a trace id gets one here, so the record exists
   * (and is announced) before the first slot is assigned. The caller's own `onEvent` still sees every event.
   */
  async run(req: MoeRequest, ctl: { signal: AbortSignal; onEvent?: (e: MoeEvent) => void }, call: MoeCall): Promise<MoeResult> {
    const traceId = req.traceId ?? randomUUID();
    const record: JobRecord = {
      trace_id: traceId,
      prompt: req.prompt.slice(0, this.maxPromptChars),
      task_type: req.taskType ?? null,
      experts: req.experts ?? null,
      status: "running",
      started_ms: this.now(),
      finished_ms: null,
      slots: [],
      result: null,
      error: null,
    };
    this.add(record);
    this.save();
    this.emit({ type: "moe:job-started", job: summarize(record) });
    const onEvent = (e: MoeEvent): void => {
      this.apply(record, e);
      this.metrics?.moeEvent(e);
      this.emit({ type: "moe:job-progress", trace_id: traceId, event: e });
      ctl.onEvent?.(e);
    };
    try {
      const result = await call({ ...req, traceId }, { signal: ctl.signal, onEvent });
      record.status = "done";
      record.result = result;
      // Every slot that voted is answered, by the peer whose answer counted.
      for (const v of result.model_votes) {
        if (!record.slots.some((s) => s.slot === v.slot && s.answered && s.epoch === v.epoch)) {
          this.apply(record, { type: "moe:assigned", slot: v.slot, expert: v.expert, model: v.model, peer: v.peer, epoch: v.epoch });
          this.apply(record, { type: "moe:answer", slot: v.slot, expert: v.expert, peer: v.peer, latency_ms: v.latency_ms });
        }
      }
      record.task_type = result.task_type;
      this.metrics?.moeJobFinished(result);
      return result;
    } catch (err) {
      record.status = "failed";
      record.error = { message: err instanceof Error ? err.message : String(err), ...codeOf(err) };
      this.metrics?.moeJobFinished(undefined);
      throw err;
    } finally {
      record.finished_ms = this.now();
      this.save();
      this.emit({ type: "moe:job-finished", job: summarize(record) });
    }
  }

  /** Newest first. */
  list(): JobSummary[] {
    return [...this.jobs.values()].reverse().map(summarize);
  }

  get(traceId: string): JobRecord | undefined {
    return this.jobs.get(traceId);
  }

  private add(record: JobRecord): void {
    this.jobs.delete(record.trace_id);
    this.jobs.set(record.trace_id, record);
    // Oldest finished first; a running job is dropped only when every kept job is running.
    while (this.jobs.size > this.limit) {
      const victim = [...this.jobs.values()].find((j) => j.status !== "running" && j !== record) ?? this.jobs.values().next().value!;
      this.jobs.delete(victim.trace_id);
    }
  }

  private apply(record: JobRecord, e: MoeEvent): void {
    const slot = (n: number): JobSlot => {
      let s = record.slots.find((x) => x.slot === n);
      if (!s) {
        s = { slot: n, expert: "", model: "", peer: "", epoch: 0, text: "", truncated: false, chunks: 0, answered: false, latency_ms: null, reassigned: [] };
        record.slots.push(s);
        record.slots.sort((a, b) => a.slot - b.slot);
      }
      return s;
    };
    switch (e.type) {
      case "moe:assigned": {
        const s = slot(e.slot);
        Object.assign(s, { expert: e.expert, model: e.model, peer: e.peer, epoch: e.epoch });
        break;
      }
      case "moe:token": {
        const s = slot(e.slot);
        s.chunks++;
        const room = this.maxSlotTextChars - s.text.length;
        if (room >= e.text.length) s.text += e.text;
        else {
          s.text += e.text.slice(0, Math.max(0, room));
          s.truncated = true;
        }
        break;
      }
      case "moe:answer": {
        const s = slot(e.slot);
        Object.assign(s, { answered: true, latency_ms: e.latency_ms, peer: e.peer, expert: e.expert });
        break;
      }
      case "moe:reassigned": {
        const s = slot(e.slot);
        s.reassigned.push({ from: e.from, to: e.to, epoch: e.epoch, reason: e.reason });
        // The new assignee streams from scratch.
        Object.assign(s, { peer: e.to, epoch: e.epoch, text: "", truncated: false, answered: false, latency_ms: null });
        break;
      }
    }
  }
}

export function summarize(j: JobRecord): JobSummary {
  const peers = j.result ? j.result.model_votes.map((v) => v.peer) : j.slots.map((s) => s.peer).filter((p) => p !== "");
  return {
    trace_id: j.trace_id,
    prompt: j.prompt,
    status: j.status,
    started_ms: j.started_ms,
    finished_ms: j.finished_ms,
    slots: j.result ? j.result.model_votes.length + j.result.failed_slots.length : j.slots.length,
    answered: j.result ? j.result.model_votes.length : j.slots.filter((s) => s.answered).length,
    peers: [...new Set(peers)].sort(),
    response: j.result?.response ?? null,
    consensus_score: j.result?.consensus_score ?? null,
    consensus_reached: j.result?.consensus_reached ?? null,
    error: j.error?.message ?? null,
  };
}

function codeOf(err: unknown): { code?: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? { code } : {};
}
