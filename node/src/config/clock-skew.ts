// Lying clocks: Holochain only checks that an author's actions are in order, so a record's
// timestamp is whatever its author's clock (or its author) said. Readers clamp time: a record
// stamped more than the network's max_clock_skew_ms (manifests/holochain/networks.json) ahead of
// this node's own clock is not trusted for liveness, "open", "newest" or claim windows.

/** Used where no network setting reaches the reader (tests, tools). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 30_000;

export interface ClockBound {
  /** This node's clock, Unix ms. */
  nowMs: number;
  /** How far ahead of it a record may be stamped and still count. */
  maxSkewMs: number;
}

/** How far (ms) a record stamped at `stampedMs` is ahead of this node's clock beyond the allowed skew; 0 when it counts. */
export function aheadBeyondSkewMs(stampedMs: number, clock: ClockBound): number {
  const ahead = stampedMs - clock.nowMs;
  return ahead > clock.maxSkewMs ? ahead : 0;
}

/** True when the record is stamped further ahead of this node's clock than the allowed skew. */
export function isFutureDated(stampedMs: number, clock: ClockBound): boolean {
  return aheadBeyondSkewMs(stampedMs, clock) > 0;
}

/** Holochain timestamps are Unix microseconds. */
export const microsToMs = (t: number | bigint): number => Number(t) / 1000;
