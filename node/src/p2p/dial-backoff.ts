// When to dial a peer again. Each dial since the peer last bound doubles the wait before the next
// (first, 2×first, 4×first … up to max): a peer that cannot be reached, or that connects and never
// completes the binding handshake (it is closed again at once), is not dialled every second or
// every few seconds forever, by every node. The peer's next successful binding starts it over.
const MAX_TRACKED = 4096;

export interface DialBackoffOptions {
  firstMs: number;
  maxMs: number;
  now?: () => number;
}

export class DialBackoff {
  private readonly peers = new Map<string, { nextAtMs: number; dials: number; lastStartMs: number }>();
  private readonly now: () => number;

  constructor(private readonly o: DialBackoffOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Whether a dial of `peer` may start now. */
  due(peer: string): boolean {
    return this.now() >= (this.peers.get(peer)?.nextAtMs ?? 0);
  }

  /** A dial of `peer` starts: the next may start after the wait this one sets. */
  started(peer: string): void {
    const dials = this.peers.get(peer)?.dials ?? 0;
    this.peers.delete(peer); // re-inserted: the map's order is oldest activity first
    if (this.peers.size >= MAX_TRACKED) this.peers.delete(this.peers.keys().next().value!);
    const now = this.now();
    this.peers.set(peer, { nextAtMs: now + Math.min(this.o.maxMs, this.o.firstMs * 2 ** Math.min(dials, 20)), dials: dials + 1, lastStartMs: now });
  }

  /** `peer` bound (or left for good): its next dial, whenever needed, starts at once. */
  reset(peer: string): void {
    this.peers.delete(peer);
  }

  /**
   * `peer` said it is alive at `atMs` (a heartbeat): if that is after our last dial started, the
   * backoff starts over, though never sooner than `firstMs` after that dial (a peer that heartbeats
   * and never binds is dialled at most that often).
   */
  revive(peer: string, atMs: number): void {
    const s = this.peers.get(peer);
    if (!s || atMs <= s.lastStartMs) return;
    s.dials = 0;
    s.nextAtMs = Math.min(s.nextAtMs, s.lastStartMs + this.o.firstMs);
  }

  /** Forgets every peer `keep` says no to (peers no longer listed anywhere). */
  retain(keep: (peer: string) => boolean): void {
    for (const peer of this.peers.keys()) if (!keep(peer)) this.peers.delete(peer);
  }

  get size(): number {
    return this.peers.size;
  }
}
