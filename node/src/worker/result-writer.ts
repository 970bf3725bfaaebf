// Writes a worker's signed result and accounting record to resource_mesh. The answer has already
// streamed to the requester; these entries are the durable record (who ran what, on which model,
// how many tokens). The result's validation needs the assignment, which may still be on its way
// through the DHT, so writes retry with backoff until a deadline. Results waiting to be written
// persist in the data dir (pending-results.ts) and are resumed after a restart; the zome call is
// idempotent, so writing again after a lost reply cannot create a second result or record.
import { decodeHashFromBase64, encodeHashToBase64 } from "@holochain/client";
import { resourceMesh, type ZomeCaller } from "@ripple-mesh/zome-bindings";
import type { Logger } from "../log.ts";
import { settlesWithin } from "../waits.ts";
import { PendingResults, type PendingResult } from "./pending-results.ts";

export interface ResultToWrite {
  job: string;
  assignment: string;
  output: string;
  responseHash: string;
  tokens: number;
  latencyMs: number;
  modelSha256: string;
  /** The agent that asked for the job: its share of the pending writes is bounded (pending-results.ts). */
  requester?: string;
}

export interface ResultWriterOptions {
  zomes: ZomeCaller;
  log: Logger;
  /** Where results waiting to be written persist (JSON, 0600); without it they live in memory only. */
  pendingFile?: string;
  /** Give up on a result this long after it was produced (default 24 h: a stalled DHT or a long restart, see README). */
  deadlineMs?: number;
  /** Longest wait between two attempts (default 30 s). */
  maxRetryDelayMs?: number;
  onWritten?: (e: { job: string; assignment: string; result: string; accounting: string | null }) => void;
  /** Stores an output above the storage policy's inline threshold in IPFS; its CID, or null to keep it inline. */
  storeOutput?: (o: { output: string; job: string; modelSha256: string }) => Promise<string | null>;
}

const MAX_INLINE_OUTPUT = 64 * 1024;
/** Holochain's word for a write its own validation refused: retrying cannot help. */
const REFUSED = /InvalidCommit/;

export class ResultWriter {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly pendingResults: PendingResults;

  constructor(private readonly opts: ResultWriterOptions) {
    this.pendingResults = new PendingResults(opts.pendingFile, opts.log);
  }

  /** Starts writing in the background; failures are logged, never thrown. */
  write(r: ResultToWrite): void {
    if (this.pendingResults.has(r)) return;
    this.pendingResults.put({ ...r, outputCid: null, producedAt: Date.now() });
    this.startWriting(PendingResults.key(r));
  }

  /** Resumes the writes a previous run left in the data dir. Returns how many. */
  resume(): number {
    const left = this.pendingResults.list();
    for (const r of left) this.startWriting(PendingResults.key(r));
    if (left.length) this.opts.log.info({ results: left.length }, "resuming result writes left by the previous run");
    return left.length;
  }

  /** Forgets a result not written yet (its write loop ends at its next attempt): one that must never be written. */
  drop(r: { job: string; assignment: string }, reason: string): void {
    if (!this.pendingResults.has(r)) return;
    this.pendingResults.remove(r);
    this.opts.log.warn({ job: r.job, assignment: r.assignment, reason }, "dropped a job result before it was written");
  }

  /** Results produced and not yet written (or given up on). */
  get pending(): number {
    return this.pendingResults.list().length;
  }

  /** Waits up to timeoutMs for writes in flight; the rest stay in the data dir for the next run. */
  async stop(timeoutMs = 5000): Promise<void> {
    const all = Promise.allSettled([...this.inFlight.values()]);
    await settlesWithin(all, timeoutMs);
    this.stopping.abort();
  }

  private startWriting(key: string): void {
    if (this.inFlight.has(key)) return;
    const p = this.writeWithRetry(key).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
  }

  private current(key: string): PendingResult | undefined {
    return this.pendingResults.list().find((r) => PendingResults.key(r) === key);
  }

  /** A large output goes to IPFS once (registered in artifact_index); the result then carries its CID. */
  private async withStoredOutput(r: PendingResult): Promise<PendingResult> {
    if (r.outputCid || !this.opts.storeOutput) return r;
    let cid: string | null = null;
    try {
      cid = await this.opts.storeOutput({ output: r.output, job: r.job, modelSha256: r.modelSha256 });
    } catch (err) {
      this.opts.log.warn({ job: r.job, err: (err as Error).message }, "could not store the output in IPFS; keeping it inline");
    }
    if (!cid) return r;
    const stored = { ...r, output: "", outputCid: cid };
    this.pendingResults.put(stored);
    return stored;
  }

  private async writeWithRetry(key: string): Promise<void> {
    const mesh = resourceMesh(this.opts.zomes);
    let r = this.current(key);
    if (!r) return;
    const deadline = r.producedAt + (this.opts.deadlineMs ?? 24 * 3600_000);
    const maxDelay = this.opts.maxRetryDelayMs ?? 30_000;
    let delay = 500;
    r = await this.withStoredOutput(r);
    for (let attempt = 1; !this.stopping.signal.aborted; attempt++) {
      // Dropped from the pending list (MAX_PENDING_RESULTS keeps the newest): its writes end with it.
      // Otherwise a flood of jobs whose assignments never arrive keeps one loop per job for a day.
      if (!this.pendingResults.has(r)) {
        this.opts.log.warn({ job: r.job, assignment: r.assignment, attempt }, "stopped writing a job result: it was dropped from the pending list");
        return;
      }
      try {
        const posted = await mesh.postResultAndAccounting({
          assignment: decodeHashFromBase64(r.assignment),
          job: decodeHashFromBase64(r.job),
          output_inline: r.outputCid ? null : r.output.slice(0, MAX_INLINE_OUTPUT),
          output_cid: r.outputCid,
          response_hash: r.responseHash,
          tokens: r.tokens,
          latency_ms: r.latencyMs,
          model: r.modelSha256,
        });
        this.pendingResults.remove(r);
        const written = { job: r.job, assignment: r.assignment, result: encodeHashToBase64(posted.result), accounting: posted.accounting ? encodeHashToBase64(posted.accounting) : null };
        this.opts.log.info({ ...written, attempt, ms: Date.now() - r.producedAt }, "result and accounting written");
        this.opts.onWritten?.(written);
        return;
      } catch (err) {
        const message = (err as Error).message;
        if (this.stopping.signal.aborted) return;
        if (REFUSED.test(message) || Date.now() + delay > deadline) {
          this.pendingResults.remove(r);
          this.opts.log.warn({ job: r.job, assignment: r.assignment, attempt, err: message }, "gave up writing a job result");
          return;
        }
        this.opts.log.debug({ attempt, err: message }, "result not written yet (assignment not here yet?); retrying");
        await new Promise((res) => setTimeout(res, delay).unref());
        delay = Math.min(delay * 2, maxDelay);
      }
    }
  }
}
