// The slots this node's worker served for other nodes' jobs, as its events tell them (job:refused,
// job:started, then job:answered or job:failed): the last `max`, for GET /v1/jobs/served and the web
// UI's Jobs page, kept across restarts in DATA_DIR/served-slots.json (a slot still running when the
// node stopped is loaded as failed, saying so). A node's own slots are left out (its own jobs are
// listed as jobs).
import { join } from "node:path";
import type { ServedSlot } from "@ripple-mesh/api-types";
import { z } from "zod";
import { loadKeptList, saveKeptList } from "../config/kept-list-file.ts";
import type { Logger } from "../log.ts";

export const SERVED_SLOTS_KEPT = 50;

export const servedSlotsFileIn = (dataDir: string): string => join(dataDir, "served-slots.json");

const text = (max: number) => z.string().max(max).nullable();
const count = z.number().min(0).nullable();
const slotSchema: z.ZodType<ServedSlot> = z.strictObject({
  job: z.string().min(1).max(128),
  slot: z.number().int().min(0),
  epoch: z.number().int().min(0).nullable(),
  requester: z.string().min(1).max(128),
  requester_name: text(256),
  expert: text(256),
  status: z.enum(["running", "answered", "refused", "failed"]),
  code: text(64),
  reason: text(2000),
  tokens: count,
  latency_ms: count,
  started_ms: z.number().min(0),
  finished_ms: z.number().min(0).nullable(),
});

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
      /** Where the list is kept across restarts; in memory only without it. */
      persist?: { file: string; log: Logger };
    },
  ) {
    if (!opts.persist) return;
    const now = opts.now?.() ?? Date.now();
    for (const slot of loadKeptList(this.#list(opts.persist))) {
      this.#slots.push(slot.status === "running" ? { ...slot, status: "failed", code: "interrupted", reason: "this node stopped while the slot ran", finished_ms: now } : slot);
    }
    this.#trim();
  }

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
        this.#save();
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
    this.#trim();
    this.#save();
  }

  #trim(): void {
    const max = this.opts.max ?? SERVED_SLOTS_KEPT;
    if (this.#slots.length > max) this.#slots.splice(0, this.#slots.length - max);
  }

  /** Writes the list where it is kept (after each change). */
  #save(): void {
    if (this.opts.persist) saveKeptList(this.#list(this.opts.persist), this.#slots);
  }

  #list(persist: { file: string; log: Logger }) {
    return { ...persist, key: "slots", what: "the slots this node served", entry: slotSchema };
  }
}
