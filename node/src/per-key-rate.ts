// How many times something happened per key (a requester, a peer) within the last minute, for limits
// that peers must not be able to outrun: jobs a requester starts on a worker, claims a worker writes
// for one requester, refusals it records, open-job notices it follows, proofs it answers. Keys are peers' agent keys, so the map is bounded too.

const MINUTE_MS = 60_000;

export class PerKeyRate {
  /** Per key, when each counted event happened within the last minute, oldest first. */
  private readonly events = new Map<string, number[]>();

  constructor(
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Events of `key` counted within the last minute. */
  count(key: string): number {
    const now = this.now();
    return (this.events.get(key) ?? []).filter((t) => now - t < MINUTE_MS).length;
  }

  /** Counts one event of `key` and returns true when fewer than `perMinute` were counted in the last minute; false (not counted) otherwise. */
  take(key: string, perMinute: number): boolean {
    const now = this.now();
    const recent = (this.events.get(key) ?? []).filter((t) => now - t < MINUTE_MS);
    if (recent.length >= perMinute) return false;
    this.events.delete(key);
    this.events.set(key, [...recent, now]);
    this.forgetStale(now);
    return true;
  }

  /** Keys with no event in the last minute go, and the least recent beyond maxKeys (a Map keeps insertion order). */
  private forgetStale(now: number): void {
    for (const [key, times] of this.events) {
      if (this.events.size <= this.maxKeys && now - times.at(-1)! < MINUTE_MS) break;
      this.events.delete(key);
    }
  }

  /** Keys counted now (tests). */
  get size(): number {
    return this.events.size;
  }
}
