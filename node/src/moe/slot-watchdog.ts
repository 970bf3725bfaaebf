// The requester's deadlines for one dispatched slot, by its own clock. A worker must say "started"
// within the start deadline, then send a token within the progress deadline (plus time to read a
// long prompt) and keep sending tokens no further apart than that. Queue keep-alives ("queued")
// extend nothing: they prove the worker is alive, not that it works. When a deadline passes, the
// watchdog's signal aborts the dispatch and `fired` says why.
import type { JobProgress } from "../protocol/job-protocol.ts";

/**
 * A long prompt delays the first token: allow this many prompt characters per second on top of the
 * progress deadline. ~4 characters a token at ~12 tokens/s: what the default model's prompt reading
 * fell to on one thread of this 2-core machine while three conductors gossiped beside it (honest
 * few-shot slots took over 10 s to their first token there; 110 tokens/s when idle).
 */
const PROMPT_CHARS_PER_SECOND = 50;

export interface SlotDeadlines {
  /** Already scaled by the caller for slots queued ahead on the same worker. */
  startDeadlineMs: number;
  progressDeadlineMs: number;
  promptChars: number;
  /** The first token may take at least this long (what this peer has been seen to need). */
  firstTokenAtLeastMs?: number;
  /** false: never fires (the requester's own in-process slots). */
  enabled?: boolean;
}

export class SlotWatchdog {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  /** Why the watchdog aborted the slot, once it has. */
  fired: string | undefined;
  /**
   * What a fired deadline says about the worker: never starting may be an honest queue on a busy
   * machine ("failure"); starting and then sending nothing is a stall.
   */
  kind: "stall" | "failure" = "failure";

  constructor(private readonly d: SlotDeadlines) {
    if (d.enabled === false) return;
    this.arm(d.startDeadlineMs, `did not start generating within ${d.startDeadlineMs} ms (start_deadline_ms per slot it holds)`);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  progress(p: JobProgress): void {
    if (this.fired || this.d.enabled === false) return;
    if (p.type === "started" && !this.started) {
      this.started = true;
      const allowance = Math.round((this.d.promptChars / PROMPT_CHARS_PER_SECOND) * 1000);
      const ms = Math.max(this.d.progressDeadlineMs + allowance, Math.round(this.d.firstTokenAtLeastMs ?? 0));
      this.kind = "stall";
      this.arm(ms, `stalled: no token within ${ms} ms after it started (progress_deadline_ms ${this.d.progressDeadlineMs} + ${allowance} ms for the prompt)`);
    } else if (p.type === "tokens") {
      this.started = true;
      this.kind = "stall";
      this.arm(this.d.progressDeadlineMs, `stalled: no token for ${this.d.progressDeadlineMs} ms in the middle of its answer (progress_deadline_ms)`);
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private arm(ms: number, why: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = why;
      this.controller.abort(new Error(why));
    }, ms);
    this.timer.unref();
  }
}
