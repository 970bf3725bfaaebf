// How long the UI waits before reconnecting its event stream after the n-th failed attempt in a row:
// doubling from `baseMs` up to `maxMs`, with up to ±`jitter` of randomness so that several open tabs
// do not reconnect in lockstep after a daemon restart.

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** 0..1, fraction of the delay. */
  jitter?: number;
}

export function reconnectDelayMs(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = opts.baseMs ?? 500;
  const max = opts.maxMs ?? 10_000;
  const jitter = opts.jitter ?? 0.2;
  const n = Math.max(0, Math.floor(attempt));
  const plain = Math.min(max, base * 2 ** Math.min(n, 30));
  const spread = plain * jitter * (random() * 2 - 1);
  return Math.round(Math.min(max, Math.max(base / 2, plain + spread)));
}
