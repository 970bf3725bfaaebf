// What this node, as a requester, has itself observed of each peer: per physical peer (libp2p peer
// id) and model, the time to first token and the decode speed it measured on its own jobs; per
// physical peer, the jobs it finished, failed, stalled on or answered with a forged/wrong-model
// answer. Peers' own figures (advertised tokens/s, reported load) are claims; these are facts.
//
// Counts decay with a half-life, so a peer that was flaky yesterday can earn its place back, and
// speeds are exponential moving averages. Kept in DATA_DIR/observed-peers.json (written at most
// every few seconds) so a restart does not forget who stalled.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../config/json-file.ts";
import { z } from "zod";
import type { Logger } from "../log.ts";
import type { ObservedFigures } from "../mesh/peer-view.ts";

/** Counts halve in this time: recent behaviour matters most. */
export const OBSERVATION_HALF_LIFE_MS = 6 * 3600_000;
/** Weight of a new speed sample in the moving average. */
const SPEED_ALPHA = 0.3;
/** Below this many (decayed) measured jobs a model's speed counts as unobserved. */
const MIN_SAMPLES = 0.25;
/** At most this many peers are remembered (the least recently seen are dropped). */
const MAX_PEERS = 4096;
const WRITE_DELAY_MS = 2000;

export type Misbehaviour = "failure" | "stall" | "bad_answer";

const countsSchema = z.strictObject({
  jobs: z.number().min(0),
  failures: z.number().min(0),
  stalls: z.number().min(0),
  bad_answers: z.number().min(0),
  at: z.number(),
});
const speedSchema = z.strictObject({
  samples: z.number().min(0),
  tokens_per_second: z.number().min(0).max(1e6),
  ttft_ms: z.number().min(0).max(3_600_000),
  at: z.number(),
});
const fileSchema = z.strictObject({
  version: z.literal(1),
  peers: z.record(z.string().max(128), z.strictObject({ counts: countsSchema, models: z.record(z.string().max(128), speedSchema) })),
});
type PeerRecord = z.infer<typeof fileSchema>["peers"][string];

/** One peer as placement and `ripple peers` see it (decayed to now). */
export type PeerObservation = ObservedFigures;

const decay = (value: number, at: number, now: number) => value * 0.5 ** (Math.max(0, now - at) / OBSERVATION_HALF_LIFE_MS);

/**
 * Reliability from decayed counts: jobs done / (jobs done + penalties), with one free job as prior.
 * A stall costs a slot its progress deadline and a bad answer is a lie, so both weigh more than a
 * plain failure (a crash or a lost connection).
 */
export function reliabilityOf(c: { jobs: number; failures: number; stalls: number; badAnswers: number }): number {
  const penalty = c.failures + 4 * c.stalls + 8 * c.badAnswers;
  return (1 + c.jobs) / (1 + c.jobs + penalty);
}

export class PeerObservations {
  private readonly peers = new Map<string, PeerRecord>();
  private writeTimer: NodeJS.Timeout | undefined;

  /** `file`: where observations persist; undefined keeps them in memory only (tests, benchmarks). */
  constructor(
    private readonly file: string | undefined,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {
    if (file) this.load(file);
  }

  static inDataDir(dataDir: string, log: Logger): PeerObservations {
    return new PeerObservations(join(dataDir, "observed-peers.json"), log);
  }

  /** A job finished: its measured time to first token and decode speed (both taken by this node's clock). */
  recordSuccess(peer: string, model: string, m: { ttftMs: number; tokensPerSecond: number }): void {
    const now = this.now();
    const rec = this.record(peer, now);
    rec.counts.jobs += 1;
    const old = rec.models[model];
    const speed = Math.min(Math.max(m.tokensPerSecond, 0), 1e6);
    const ttft = Math.min(Math.max(m.ttftMs, 0), 3_600_000);
    if (!old) {
      rec.models[model] = { samples: 1, tokens_per_second: speed, ttft_ms: ttft, at: now };
    } else {
      const samples = decay(old.samples, old.at, now);
      // With few samples left after decay the new one counts more.
      const alpha = samples < 1 ? 1 - samples * (1 - SPEED_ALPHA) : SPEED_ALPHA;
      rec.models[model] = { samples: samples + 1, tokens_per_second: old.tokens_per_second + alpha * (speed - old.tokens_per_second), ttft_ms: old.ttft_ms + alpha * (ttft - old.ttft_ms), at: now };
    }
    this.changed();
  }

  recordMisbehaviour(peer: string, kind: Misbehaviour): void {
    const rec = this.record(peer, this.now());
    if (kind === "failure") rec.counts.failures += 1;
    else if (kind === "stall") rec.counts.stalls += 1;
    else rec.counts.bad_answers += 1;
    this.changed();
  }

  /** The decayed view of one physical peer, or undefined when never observed. */
  get(peer: string): PeerObservation | undefined {
    const rec = this.peers.get(peer);
    if (!rec) return undefined;
    const now = this.now();
    const c = rec.counts;
    const d = (v: number) => decay(v, c.at, now);
    const counts = { jobs: d(c.jobs), failures: d(c.failures), stalls: d(c.stalls), badAnswers: d(c.bad_answers) };
    const models = Object.entries(rec.models)
      .map(([model, s]) => ({ model, tokensPerSecond: s.tokens_per_second, ttftMs: s.ttft_ms, samples: decay(s.samples, s.at, now) }))
      .filter((m) => m.samples >= MIN_SAMPLES);
    return { ...counts, reliability: reliabilityOf(counts), models };
  }

  /** Measured decode speed of `model` on `peer`, or undefined while unobserved. */
  speedOf(peer: string, model: string): number | undefined {
    return this.modelFigures(peer, model)?.tokensPerSecond;
  }

  /** Measured time from "started" to the first token of `model` on `peer`, or undefined while unobserved. */
  firstTokenMsOf(peer: string, model: string): number | undefined {
    return this.modelFigures(peer, model)?.ttftMs;
  }

  private modelFigures(peer: string, model: string): PeerObservation["models"][number] | undefined {
    return this.get(peer)?.models.find((m) => m.model === model);
  }

  /** Writes pending changes now (on stop). */
  flush(): void {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    if (!this.file) return;
    try {
      writeJsonAtomic(this.file, { version: 1, peers: Object.fromEntries(this.peers) });
    } catch (err) {
      this.log?.warn({ file: this.file, err: (err as Error).message }, "could not save observed peer performance");
    }
  }

  /** The record of a peer with its counts decayed to `now`, so increments add to current values. */
  private record(peer: string, now: number): PeerRecord {
    let rec = this.peers.get(peer);
    if (!rec) {
      rec = { counts: { jobs: 0, failures: 0, stalls: 0, bad_answers: 0, at: now }, models: {} };
      this.peers.set(peer, rec);
      this.prune();
    }
    const c = rec.counts;
    rec.counts = { jobs: decay(c.jobs, c.at, now), failures: decay(c.failures, c.at, now), stalls: decay(c.stalls, c.at, now), bad_answers: decay(c.bad_answers, c.at, now), at: now };
    return rec;
  }

  private prune(): void {
    if (this.peers.size <= MAX_PEERS) return;
    const oldest = [...this.peers.entries()].sort((a, b) => a[1].counts.at - b[1].counts.at).slice(0, this.peers.size - MAX_PEERS);
    for (const [peer] of oldest) this.peers.delete(peer);
  }

  private changed(): void {
    if (!this.file || this.writeTimer) return;
    this.writeTimer = setTimeout(() => this.flush(), WRITE_DELAY_MS);
    this.writeTimer.unref();
  }

  private load(file: string): void {
    if (!existsSync(file)) return;
    try {
      const parsed = fileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
      for (const [peer, rec] of Object.entries(parsed.peers)) this.peers.set(peer, rec);
      this.prune();
    } catch (err) {
      // A damaged file costs only what was learned; say so and start over rather than refuse to start.
      this.log?.warn({ file, err: (err as Error).message, fix: "delete the file; it is rebuilt from new jobs" }, "ignoring an unreadable observed-peers file");
    }
  }
}
