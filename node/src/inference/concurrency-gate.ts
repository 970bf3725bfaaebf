// A FIFO gate with a bounded queue: at most `limit` holders at once, at most `maxQueued` waiters.
// A waiter whose signal aborts leaves the queue at once (its slot in line goes to the next one);
// a full queue refuses at once with InferenceError "busy" instead of letting latency grow unbounded.
import { InferenceError } from "./inference-errors.ts";

export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
  fail: (err: unknown) => void;
}

export class ConcurrencyGate {
  #running = 0;
  readonly #queue: Waiter[] = [];
  #closed: Error | null = null;

  constructor(
    readonly limit: number,
    readonly maxQueued: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
    if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new RangeError(`queue bound must be a non-negative integer, got ${maxQueued}`);
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Resolves with a release function once a slot is free (synchronously decided: a free slot or a
   * place in line is taken before this returns). Rejects with InferenceError "busy" when the queue is
   * full, with `signal.reason` when the signal aborts while waiting, with the close reason after close().
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#running < this.limit) {
      this.#running++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#queue.length >= this.maxQueued) {
      return Promise.reject(
        new InferenceError(
          "busy",
          `this node is busy: ${this.#running} requests running and ${this.#queue.length} queued (limit ${this.limit} running, ${this.maxQueued} queued)`,
          "retry later or send the request to another node",
        ),
      );
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        const at = this.#queue.indexOf(waiter);
        if (at >= 0) this.#queue.splice(at, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
        fail: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** Refuses every waiter and every later acquire with `reason`; holders keep their slots until they release. */
  close(reason: Error): void {
    this.#closed ??= reason;
    for (const waiter of this.#queue.splice(0)) waiter.fail(reason);
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      // The slot passes straight to the next waiter, so a newcomer cannot overtake the line.
      if (next) next.grant(this.#releaser());
      else this.#running--;
    };
  }
}
