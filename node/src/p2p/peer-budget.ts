// What one remote peer may make this node hold at once, across every protocol and connection:
// inbound request streams open, request bytes held (announced frame lengths, reserved before they
// are buffered), and streams waiting for the peer's handshake to settle. Also counts the
// bound-only requests an unbound peer keeps sending, so the node can deny it.
//
// Entries exist only while a peer holds something (or has recent strikes) and are dropped when it
// releases everything or disconnects, so the maps do not grow with the number of peers ever seen.

export interface InboundLimits {
  /** Inbound request streams one peer may have open at once, all protocols together. */
  maxStreamsPerPeer: number;
  /** Request bytes (announced frame lengths) one peer may have in flight at once. */
  maxBytesPerPeer: number;
  /**
   * Request bytes all peers together may have in flight: keys are free to make, so without it 256
   * self-bound peers × maxBytesPerPeer could hold gigabytes for a read timeout.
   */
  maxBytesAllPeers: number;
  /** Of those streams, how many may wait for an unfinished handshake (they are paused, unread). */
  maxWaitingPerPeer: number;
  /** Bound-only requests refused as "unbound" within strikeWindowMs before the peer is denied. */
  unboundStrikes: number;
  strikeWindowMs: number;
  /** Longest time to receive a whole request frame, from the stream's opening. */
  readTimeoutMs: number;
}

export const defaultInboundLimits: InboundLimits = {
  maxStreamsPerPeer: 64,
  maxBytesPerPeer: 8 * 1024 * 1024,
  maxBytesAllPeers: 128 * 1024 * 1024,
  maxWaitingPerPeer: 4,
  unboundStrikes: 8,
  strikeWindowMs: 60_000,
  readTimeoutMs: 30_000,
};

/** Peers tracked at once; beyond this the oldest strike records are dropped (open leases never are). */
const MAX_TRACKED_PEERS = 4096;

interface PeerUsage {
  streams: number;
  bytes: number;
  waiting: number;
  /** Date.now() of recent "unbound" refusals, oldest first. */
  strikes: number[];
}

/** One admitted stream's hold on its peer's budget. release() is idempotent. */
export interface StreamLease {
  /** Reserves `bytes` of the peer's byte budget; false (nothing reserved) when over it. */
  reserve(bytes: number): boolean;
  /** Marks the stream as waiting for the handshake; false when the peer already has too many waiting. */
  startWaiting(): boolean;
  stopWaiting(): void;
  release(): void;
}

export class PeerBudgets {
  private readonly usage = new Map<string, PeerUsage>();
  /** Request bytes reserved by all peers now. */
  private totalBytes = 0;

  constructor(
    readonly limits: InboundLimits = defaultInboundLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** A lease for one more inbound stream, or undefined when the peer has maxStreamsPerPeer open. */
  openStream(peerId: string): StreamLease | undefined {
    const u = this.entry(peerId);
    if (u.streams >= this.limits.maxStreamsPerPeer) {
      this.dropIfIdle(peerId, u);
      return undefined;
    }
    u.streams++;
    let bytes = 0;
    let waiting = false;
    let released = false;
    return {
      reserve: (n) => {
        if (released || u.bytes + n > this.limits.maxBytesPerPeer || this.totalBytes + n > this.limits.maxBytesAllPeers) return false;
        u.bytes += n;
        bytes += n;
        this.totalBytes += n;
        return true;
      },
      startWaiting: () => {
        if (released || waiting) return !released;
        if (u.waiting >= this.limits.maxWaitingPerPeer) return false;
        u.waiting++;
        waiting = true;
        return true;
      },
      stopWaiting: () => {
        if (!waiting) return;
        waiting = false;
        u.waiting--;
      },
      release: () => {
        if (released) return;
        released = true;
        if (waiting) u.waiting--;
        u.streams--;
        u.bytes -= bytes;
        this.totalBytes -= bytes;
        this.dropIfIdle(peerId, u);
      },
    };
  }

  /** Records an "unbound" refusal; true when the peer has reached unboundStrikes within the window. */
  strikeUnbound(peerId: string): boolean {
    const u = this.entry(peerId);
    const now = this.now();
    u.strikes.push(now);
    while (u.strikes.length > 0 && u.strikes[0]! <= now - this.limits.strikeWindowMs) u.strikes.shift();
    return u.strikes.length >= this.limits.unboundStrikes;
  }

  /** The peer disconnected (or was denied): its strikes go; open leases keep their entry until released. */
  forget(peerId: string): void {
    const u = this.usage.get(peerId);
    if (!u) return;
    u.strikes = [];
    this.dropIfIdle(peerId, u);
  }

  /** For tests and diagnostics: what the peer holds now. */
  held(peerId: string): { streams: number; bytes: number; waiting: number } {
    const u = this.usage.get(peerId);
    return { streams: u?.streams ?? 0, bytes: u?.bytes ?? 0, waiting: u?.waiting ?? 0 };
  }

  /** Peers with an entry (for tests: the map is pruned). */
  trackedPeers(): number {
    return this.usage.size;
  }

  private entry(peerId: string): PeerUsage {
    let u = this.usage.get(peerId);
    if (!u) {
      if (this.usage.size >= MAX_TRACKED_PEERS) this.evictIdle();
      u = { streams: 0, bytes: 0, waiting: 0, strikes: [] };
      this.usage.set(peerId, u);
    }
    return u;
  }

  private dropIfIdle(peerId: string, u: PeerUsage): void {
    if (u.streams === 0 && u.waiting === 0 && u.strikes.length === 0 && this.usage.get(peerId) === u) this.usage.delete(peerId);
  }

  /** Drops entries that hold no stream (strike records only), oldest first, down to 3/4 of the cap. */
  private evictIdle(): void {
    for (const [peerId, u] of this.usage) {
      if (this.usage.size < (MAX_TRACKED_PEERS * 3) / 4) return;
      if (u.streams === 0) this.usage.delete(peerId);
    }
  }
}
