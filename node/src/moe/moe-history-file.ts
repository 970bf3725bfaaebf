// The MOE run history kept across restarts (DATA_DIR/moe-history.json): the web UI's Jobs page
// shows a node's last runs after `ripple down` / `ripple up` too. The file is this node's own, but a
// damaged one (or entry) is set aside and logged, never fatal; a run still "running" when the node
// stopped is loaded as failed, saying so.
import { join } from "node:path";
import type { JobRecord } from "@ripple-mesh/api-types";
import { z } from "zod";
import { loadKeptList, saveKeptList } from "../config/kept-list-file.ts";
import type { Logger } from "../log.ts";

export const historyFileIn = (dataDir: string): string => join(dataDir, "moe-history.json");

/** What a kept run must have to be shown; the rest (slots, result) is the UI's to read as it is. */
const recordSchema = z
  .object({
    trace_id: z.string().min(1).max(128),
    prompt: z.string(),
    task_type: z.string().nullable(),
    experts: z.number().nullable(),
    status: z.enum(["running", "done", "failed"]),
    started_ms: z.number(),
    finished_ms: z.number().nullable(),
    slots: z.array(z.object({ slot: z.number(), peer: z.string(), answered: z.boolean() }).loose()),
    // What summarize() and the Jobs page read of a result; the rest is shown as it is.
    result: z
      .object({
        response: z.string(),
        consensus_score: z.number(),
        consensus_reached: z.boolean(),
        model_votes: z.array(z.object({ peer: z.string(), slot: z.number(), epoch: z.number(), expert: z.string(), prompt_tokens: z.number().default(0) }).loose()),
        failed_slots: z.array(z.object({ slot: z.number() }).loose()),
      })
      .loose()
      .nullable(),
    error: z.object({ message: z.string(), code: z.string().optional() }).nullable(),
  })
  .loose();

const historyList = (file: string, log: Logger) => ({ file, key: "jobs", what: "the MOE history", entry: recordSchema, log });

export function loadHistory(file: string, log: Logger, nowMs: number): JobRecord[] {
  return loadKeptList(historyList(file, log)).map((raw) => {
    const job = raw as unknown as JobRecord;
    return job.status === "running" ? { ...job, status: "failed", finished_ms: job.finished_ms ?? nowMs, error: { message: "the node stopped while this job ran" } } : job;
  });
}

/** Oldest first, as the history keeps them. Never throws: a history that cannot be saved is logged. */
export function saveHistory(file: string, jobs: JobRecord[], log: Logger): void {
  saveKeptList(historyList(file, log), jobs);
}
