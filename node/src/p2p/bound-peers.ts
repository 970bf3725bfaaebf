// The peers whose binding (libp2p peer id ↔ Holochain agent key) this node has verified, with the
// last time each was heard from (handshake or ping). Entries outlive disconnects on purpose: the
// daemon judges "offline" with its own liveness window, so it needs the last value, not a gap.
// An entry is dropped when the peer is refused (its binding stopped verifying), or, past maxPeers,
// when it is disconnected and has the oldest lastSeen (anyone can make new keys and bind them).

export interface BoundPeer {
  peerId: string;
  agentPubKey: Uint8Array;
  /** Date.now() of the last successful ping or handshake. */
  lastSeenMs: number;
}

export class BoundPeers {
  private readonly peers = new Map<string, BoundPeer>();

  constructor(
    private readonly maxPeers = 4096,
    private readonly now: () => number = Date.now,
  ) {}

  bind(peerId: string, agentPubKey: Uint8Array): void {
    this.peers.set(peerId, { peerId, agentPubKey: Uint8Array.from(agentPubKey), lastSeenMs: this.now() });
  }

  /** Records that the peer answered; no-op for peers that are not bound. */
  touch(peerId: string): void {
    const peer = this.peers.get(peerId);
    if (peer) peer.lastSeenMs = this.now();
  }

  forget(peerId: string): void {
    this.peers.delete(peerId);
  }

  get(peerId: string): BoundPeer | undefined {
    const peer = this.peers.get(peerId);
    return peer && copy(peer);
  }

  has(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  /** Drops disconnected peers, oldest lastSeen first, until at most maxPeers remain. Returns how many went. */
  prune(isConnected: (peerId: string) => boolean): number {
    if (this.peers.size <= this.maxPeers) return 0;
    const gone = [...this.peers.values()].filter((p) => !isConnected(p.peerId)).sort((a, b) => a.lastSeenMs - b.lastSeenMs);
    let dropped = 0;
    for (const p of gone) {
      if (this.peers.size <= this.maxPeers) break;
      this.peers.delete(p.peerId);
      dropped++;
    }
    return dropped;
  }

  size(): number {
    return this.peers.size;
  }

  ids(): string[] {
    return [...this.peers.keys()];
  }

  /** Copies, so callers cannot change the record. */
  list(): BoundPeer[] {
    return [...this.peers.values()].map(copy);
  }
}

function copy(peer: BoundPeer): BoundPeer {
  return { peerId: peer.peerId, agentPubKey: Uint8Array.from(peer.agentPubKey), lastSeenMs: peer.lastSeenMs };
}
