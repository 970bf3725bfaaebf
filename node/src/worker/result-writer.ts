// Writes a worker's signed result and accounting record to resource_mesh. The answer has already
// streamed to the requester; these entries are the durable record (who ran what, on which model,
// how many tokens). The result's validation needs the assignment, which may still be on its way
// through the DHT, so writes retry with backoff until a deadline.
import { decodeHashFromBase64, encodeHashToBase64 } from "@holochain/client";
import { resourceMesh, type ZomeCaller } from "@ripple-mesh/zome-bindings";
import type { Logger } from "../log.ts";

export interface ResultToWrite {
  job: string;
  assignment: string;
  output: string;
  responseHash: string;
  tokens: number;
  latencyMs: number;
  modelSha256: string;
  agent: Uint8Array;
}

export interface ResultWriterOptions {
  zomes: ZomeCaller;
  log: Logger;
  /** Give up on one write after this long (default 180 s: a stalled DHT, see README). */
  deadlineMs?: number;
  onWritten?: (e: { job: string; assignment: string; result: string }) => void;
  /** Stores an output above the storage policy's inline threshold in IPFS; its CID, or null to keep it inline. */
  storeOutput?: (o: { output: string; job: string; modelSha256: string }) => Promise<string | null>;
}

const MAX_INLINE_OUTPUT = 64 * 1024;

export class ResultWriter {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(private readonly opts: ResultWriterOptions) {}

  /** Starts writing in the background; failures are logged, never thrown. */
  write(r: ResultToWrite): void {
    const p = this.writeWithRetry(r).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  get pending(): number {
    return this.inFlight.size;
  }

  /** Waits up to timeoutMs for writes in flight, then abandons the rest. */
  async stop(timeoutMs = 5000): Promise<void> {
    const all = Promise.allSettled([...this.inFlight]);
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.stopping.abort();
  }

  private async storeOutput(r: ResultToWrite): Promise<string | null> {
    if (!this.opts.storeOutput) return null;
    try {
      return await this.opts.storeOutput({ output: r.output, job: r.job, modelSha256: r.modelSha256 });
    } catch (err) {
      this.opts.log.warn({ job: r.job, err: (err as Error).message }, "could not store the output in IPFS; keeping it inline");
      return null;
    }
  }

  private async writeWithRetry(r: ResultToWrite): Promise<void> {
    const mesh = resourceMesh(this.opts.zomes);
    const job = decodeHashFromBase64(r.job);
    const assignment = decodeHashFromBase64(r.assignment);
    const started = Date.now();
    const deadline = started + (this.opts.deadlineMs ?? 180_000);
    let delay = 500;
    // A large output goes to IPFS once (registered in artifact_index); the result then carries its CID.
    const outputCid = await this.storeOutput(r);
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await mesh.postResult({
          assignment,
          job,
          output_inline: outputCid ? null : r.output.slice(0, MAX_INLINE_OUTPUT),
          output_cid: outputCid,
          response_hash: r.responseHash,
          tokens: r.tokens,
          latency_ms: r.latencyMs,
          model: r.modelSha256,
        });
        await mesh.recordAccounting({ job, assignment, agent: r.agent, tokens: Math.min(r.tokens, 10_000_000), served_ms: r.latencyMs });
        const written = { job: r.job, assignment: r.assignment, result: encodeHashToBase64(result) };
        this.opts.log.info({ ...written, attempt, ms: Date.now() - started }, "result and accounting written");
        this.opts.onWritten?.(written);
        return;
      } catch (err) {
        if (this.stopping.signal.aborted || Date.now() + delay > deadline) {
          this.opts.log.warn({ job: r.job, assignment: r.assignment, attempt, err: (err as Error).message }, "gave up writing a job result");
          return;
        }
        this.opts.log.debug({ attempt, err: (err as Error).message }, "result not written yet (assignment not here yet?); retrying");
        await new Promise((res) => setTimeout(res, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
}
