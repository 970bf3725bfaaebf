// The results (and their accounting) this worker has produced but not yet written to
// resource_mesh, kept in a small JSON file in the node's data dir so that a daemon restart resumes
// them instead of losing them. Every change rewrites the file atomically (temp file + rename, 0600).
// The file is this node's own, but it is still parsed with a strict schema: a damaged file is set
// aside (renamed *.bad) and logged, never trusted or fatal.
import { readFileSync, renameSync } from "node:fs";
import { writeJsonAtomic } from "../config/json-file.ts";
import { z } from "zod";
import type { Logger } from "../log.ts";

const hashB64 = z.string().min(40).max(64).regex(/^u[A-Za-z0-9_-]+$/);
const MAX_OUTPUT_CHARS = 4 * 1024 * 1024;

export const pendingResultSchema = z.strictObject({
  job: hashB64,
  assignment: hashB64,
  /** The output text; emptied once it is stored in IPFS (then `outputCid` says where). */
  output: z.string().max(MAX_OUTPUT_CHARS),
  outputCid: z.string().min(1).max(256).nullable(),
  responseHash: z.string().regex(/^[0-9a-f]{64}$/),
  tokens: z.number().int().min(0).max(2 ** 32 - 1),
  latencyMs: z.number().int().min(0).max(2 ** 32 - 1),
  modelSha256: z.string().min(1).max(256),
  /** When the worker produced it (this node's clock, ms): the write deadline runs from here. */
  producedAt: z.number().int().min(0),
  /** The requester agent (absent in files written before it was kept). */
  requester: hashB64.optional(),
});
export type PendingResult = z.infer<typeof pendingResultSchema>;

/** At most this many results wait; beyond it the oldest of the requester with the most is dropped (and logged). */
export const MAX_PENDING_RESULTS = 2_000;
/**
 * At most this many of them for one requester: a requester whose assignments never arrive (its jobs
 * are its own to write) pushes out its own oldest results, not other requesters'.
 */
export const MAX_PENDING_PER_REQUESTER = 500;

const fileSchema = z.strictObject({ version: z.literal(1), pending: z.array(pendingResultSchema).max(MAX_PENDING_RESULTS) });

export class PendingResults {
  private readonly entries = new Map<string, PendingResult>();

  /** `file`: where they persist; undefined keeps them in memory only (tests). */
  constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
  ) {
    if (file) this.load(file);
  }

  static key(r: { job: string; assignment: string }): string {
    return `${r.job}/${r.assignment}`;
  }

  list(): PendingResult[] {
    return [...this.entries.values()];
  }

  has(r: { job: string; assignment: string }): boolean {
    return this.entries.has(PendingResults.key(r));
  }

  /** Adds or replaces the result of its assignment. */
  put(r: PendingResult): void {
    this.entries.delete(PendingResults.key(r));
    this.entries.set(PendingResults.key(r), pendingResultSchema.parse(r));
    if (r.requester) {
      const theirs = [...this.entries.entries()].filter(([, e]) => e.requester === r.requester).map(([key]) => key);
      for (const key of theirs.slice(0, Math.max(0, theirs.length - MAX_PENDING_PER_REQUESTER))) {
        this.log.warn({ result: key, requester: r.requester }, "too many results of one requester waiting to be written; dropping its oldest");
        this.entries.delete(key);
      }
    }
    while (this.entries.size > MAX_PENDING_RESULTS) {
      const dropped = this.oldestOfBusiestRequester();
      this.log.warn({ result: dropped }, "too many results waiting to be written; dropping the oldest of the requester with the most");
      this.entries.delete(dropped);
    }
    this.save();
  }

  /**
   * Which result goes when the file is full: the oldest of the requester with the most waiting. A
   * few requesters whose assignments never arrive (made-up jobs) then push out their own results,
   * not the honest ones still waiting on the DHT, as dropping the oldest of all would.
   */
  private oldestOfBusiestRequester(): string {
    const count = new Map<string, number>();
    for (const e of this.entries.values()) count.set(e.requester ?? "", (count.get(e.requester ?? "") ?? 0) + 1);
    const busiest = [...count.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    for (const [key, e] of this.entries) if ((e.requester ?? "") === busiest) return key;
    throw new Error("unreachable: the busiest requester has an entry");
  }

  remove(r: { job: string; assignment: string }): void {
    if (this.entries.delete(PendingResults.key(r))) this.save();
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.log.warn({ file, err: (err as Error).message }, "could not read the results waiting to be written");
      return;
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch (err) {
      const aside = `${file}.bad`;
      this.log.warn({ file, aside, err: (err as Error).message.slice(0, 300) }, "the file of results waiting to be written is damaged; setting it aside");
      try {
        renameSync(file, aside);
      } catch {
        // Nothing more to do: the next save replaces it.
      }
      return;
    }
    for (const r of parsed.pending) this.entries.set(PendingResults.key(r), r);
  }

  private save(): void {
    if (!this.file) return;
    try {
      writeJsonAtomic(this.file, { version: 1, pending: this.list() });
    } catch (err) {
      this.log.warn({ file: this.file, err: (err as Error).message }, "could not save the results waiting to be written");
    }
  }
}
