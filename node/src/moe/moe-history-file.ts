// The MOE run history kept across restarts (DATA_DIR/moe-history.json): the web UI's Jobs page
// shows a node's last runs after `ripple down` / `ripple up` too. The file is this node's own, but a
// damaged one (or entry) is set aside and logged, never fatal; a run still "running" when the node
// stopped is loaded as failed, saying so.
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { JobRecord } from "@ripple-mesh/api-types";
import { z } from "zod";
import { writeJsonAtomic } from "../config/json-file.ts";
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

const fileSchema = z.object({ version: z.literal(1), jobs: z.array(z.unknown()) });

export function loadHistory(file: string, log: Logger, nowMs: number): JobRecord[] {
  if (!existsSync(file)) return [];
  let jobs: unknown[];
  try {
    jobs = fileSchema.parse(JSON.parse(readFileSync(file, "utf8"))).jobs;
  } catch (err) {
    const aside = `${file}.bad`;
    log.warn({ file, aside, err: (err as Error).message.slice(0, 300) }, "the MOE history file is damaged; setting it aside and starting an empty history");
    try {
      renameSync(file, aside);
    } catch {
      // The next save replaces it.
    }
    return [];
  }
  const kept: JobRecord[] = [];
  for (const raw of jobs) {
    const parsed = recordSchema.safeParse(raw);
    if (!parsed.success) {
      log.warn({ file, err: parsed.error.issues[0]?.message }, "skipping a damaged run in the MOE history file");
      continue;
    }
    const job = parsed.data as unknown as JobRecord;
    kept.push(job.status === "running" ? { ...job, status: "failed", finished_ms: job.finished_ms ?? nowMs, error: { message: "the node stopped while this job ran" } } : job);
  }
  return kept;
}

/** Oldest first, as the history keeps them. Never throws: a history that cannot be saved is logged. */
export function saveHistory(file: string, jobs: JobRecord[], log: Logger): void {
  try {
    writeJsonAtomic(file, { version: 1, jobs });
  } catch (err) {
    log.warn({ file, err: (err as Error).message }, "could not save the MOE history");
  }
}
