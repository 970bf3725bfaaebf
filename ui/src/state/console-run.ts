// The Console's current run, kept outside the page so that switching pages does not lose it: an MOE
// job streamed from POST /v1/moe?stream=1 (slots filled from its events as the Jobs page does) or a
// single-model answer from POST /v1/ask?stream=1.
import { ApiError, postStream } from "../api/http.ts";
import type { AskResult, JobRecord, MoeEvent, MoeResult } from "@ripple-mesh/api-types";
import { applyJobEvent, settleSlots } from "../lib/jobs.ts";

export type ConsoleRun =
  | { kind: "idle" }
  | { kind: "moe"; running: boolean; startedMs: number; record: JobRecord; events: number; error: ApiError | null }
  | { kind: "ask"; running: boolean; startedMs: number; model: string; text: string; chunks: number; result: AskResult | null; error: ApiError | null };

export interface MoeForm {
  prompt: string;
  experts?: number;
  taskType?: string;
  maxTokens?: number;
}

export interface AskForm {
  prompt: string;
  model: string;
  maxTokens?: number;
}

type Listener = () => void;

class ConsoleStore {
  run: ConsoleRun = { kind: "idle" };
  private readonly listeners = new Set<Listener>();
  private abort: AbortController | undefined;

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private set(run: ConsoleRun): void {
    this.run = run;
    for (const l of this.listeners) l();
  }

  get running(): boolean {
    return this.run.kind !== "idle" && this.run.running;
  }

  cancel(): void {
    this.abort?.abort();
  }

  async moe(form: MoeForm): Promise<void> {
    this.abort = new AbortController();
    const startedMs = Date.now();
    const record: JobRecord = { trace_id: "", prompt: form.prompt, task_type: form.taskType ?? null, experts: form.experts ?? null, status: "running", started_ms: startedMs, finished_ms: null, slots: [], result: null, error: null };
    this.set({ kind: "moe", running: true, startedMs, record, events: 0, error: null });
    const body = { prompt: form.prompt, ...(form.experts ? { experts: form.experts } : {}), ...(form.taskType ? { task_type: form.taskType } : {}), ...(form.maxTokens ? { max_tokens: form.maxTokens } : {}) };
    const current = () => this.run as Extract<ConsoleRun, { kind: "moe" }>;
    try {
      const result = await postStream<MoeResult>(
        "/v1/moe?stream=1",
        body,
        (_name, data) => {
          const run = current();
          this.set({ ...run, events: run.events + 1, record: applyJobEvent(run.record, data as MoeEvent) });
        },
        this.abort.signal,
      );
      const run = current();
      this.set({ ...run, running: false, record: { ...settleSlots(run.record, result), trace_id: result.trace_id, status: "done", finished_ms: Date.now() } });
    } catch (err) {
      const run = current();
      this.set({ ...run, running: false, record: { ...run.record, status: "failed", finished_ms: Date.now() }, error: asApiError(err) });
    }
  }

  async ask(form: AskForm): Promise<void> {
    this.abort = new AbortController();
    const startedMs = Date.now();
    this.set({ kind: "ask", running: true, startedMs, model: form.model, text: "", chunks: 0, result: null, error: null });
    const current = () => this.run as Extract<ConsoleRun, { kind: "ask" }>;
    try {
      const result = await postStream<AskResult>(
        "/v1/ask?stream=1",
        { model: form.model, prompt: form.prompt, ...(form.maxTokens ? { max_tokens: form.maxTokens } : {}) },
        (name, data) => {
          if (name !== "token") return;
          const run = current();
          this.set({ ...run, text: run.text + (data as { text: string }).text, chunks: run.chunks + 1 });
        },
        this.abort.signal,
      );
      this.set({ ...current(), running: false, text: result.text, result });
    } catch (err) {
      this.set({ ...current(), running: false, error: asApiError(err) });
    }
  }
}

function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DOMException && err.name === "AbortError") return new ApiError("cancelled", "", 0, "cancelled");
  return new ApiError(err instanceof Error ? err.message : String(err), "", 0, "failed");
}

export const consoleStore = new ConsoleStore();
