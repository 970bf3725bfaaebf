// The slots this node's worker served for other nodes' jobs, as its events tell them (job:refused,
// job:started, then job:answered or job:failed): the last `max`, in memory, for GET /v1/jobs/served
// and the web UI's Jobs page. A node's own slots are left out (its own jobs are listed as jobs).
import type { ServedSlot } from "@ripple-mesh/api-types";

export const SERVED_SLOTS_KEPT = 50;

type WorkerEvent = { type: string; [k: string]: unknown };

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export class ServedSlots {
  /** Oldest first. */
  readonly #slots: ServedSlot[] = [];

  constructor(
    private readonly opts: {
      /** Whether an agent key is this node's own. */
      isSelf: (agent: string) => boolean;
      max?: number;
      now?: () => number;
    },
  ) {}

  /** Takes one event of the daemon's stream; any other type is ignored. */
  observe(e: WorkerEvent): void {
    const now = this.opts.now?.() ?? Date.now();
    const job = str(e.job);
    const slot = num(e.slot);
    if (job === null || slot === null) return;
    switch (e.type) {
      case "job:started":
      case "job:refused": {
        const requester = str(e.requester);
        if (requester === null || this.opts.isSelf(requester)) return;
        const refused = e.type === "job:refused";
        this.#add({
          job,
          slot,
          epoch: refused ? null : num(e.epoch),
          requester,
          requester_name: null,
          expert: str(e.expert),
          status: refused ? "refused" : "running",
          code: refused ? str(e.code) : null,
          reason: refused ? str(e.reason) : null,
          tokens: null,
          latency_ms: null,
          started_ms: now,
          finished_ms: refused ? now : null,
        });
        return;
      }
      case "job:answered":
      case "job:failed": {
        const epoch = num(e.epoch);
        const running = this.#slots.findLast((s) => s.job === job && s.slot === slot && s.epoch === epoch && s.status === "running");
        if (!running) return; // this node's own slot, or one no longer kept
        running.finished_ms = now;
        if (e.type === "job:answered") {
          running.status = "answered";
          running.tokens = num(e.tokens);
          running.latency_ms = num(e.latency_ms);
        } else {
          running.status = "failed";
          running.code = str(e.code);
          running.reason = str(e.reason);
        }
        return;
      }
    }
  }

  /** Newest first, with each requester's name as `nameOf` gives it now. */
  list(nameOf: (agent: string) => string | null = () => null): ServedSlot[] {
    return this.#slots.map((s) => ({ ...s, requester_name: nameOf(s.requester) })).reverse();
  }

  #add(slot: ServedSlot): void {
    this.#slots.push(slot);
    const max = this.opts.max ?? SERVED_SLOTS_KEPT;
    if (this.#slots.length > max) this.#slots.splice(0, this.#slots.length - max);
  }
}
