// Peers whose binding did not verify are kept out for a cooldown. The list is enforced by the
// libp2p connection gater, which sees the noise-AUTHENTICATED peer id of inbound connections
// (denyInboundEncryptedConnection) and outbound dials (denyDialPeer when dialing a peer id,
// denyOutboundEncryptedConnection when dialing a bare multiaddr), so a refused peer cannot come
// back under the same key until the cooldown ends. A new key gets a new peer id and a fresh
// handshake, which is fine: the binding check is what keeps a forged identity out, not this list.
import type { ConnectionGater, PeerId } from "@libp2p/interface";

/** Denials kept at once: new keys are free, so the list must not grow with them. */
const MAX_DENIED = 10_000;

export class PeerDenyList {
  /** peer id → Date.now() until which it is denied, and why. */
  private readonly until = new Map<string, { untilMs: number; reason: string }>();

  constructor(private readonly now: () => number = Date.now) {}

  deny(peerId: string, cooldownMs: number, reason: string): void {
    this.until.delete(peerId); // re-inserted last: iteration order is expiry-ish order
    this.until.set(peerId, { untilMs: this.now() + cooldownMs, reason });
    if (this.until.size > MAX_DENIED) this.prune();
  }

  /** Drops expired denials; still past the cap, the ones denied longest ago (down to 3/4 of it, so this runs rarely). */
  private prune(): void {
    const now = this.now();
    for (const [peer, entry] of this.until) if (entry.untilMs <= now) this.until.delete(peer);
    if (this.until.size <= MAX_DENIED) return;
    for (const peer of this.until.keys()) {
      if (this.until.size <= (MAX_DENIED * 3) / 4) break;
      this.until.delete(peer);
    }
  }

  size(): number {
    return this.until.size;
  }

  /** Why the peer is denied right now, or undefined. Expired entries are dropped on the way. */
  denial(peerId: string): { untilMs: number; reason: string } | undefined {
    const entry = this.until.get(peerId);
    if (!entry) return undefined;
    if (entry.untilMs <= this.now()) {
      this.until.delete(peerId);
      return undefined;
    }
    return entry;
  }

  isDenied(peerId: string): boolean {
    return this.denial(peerId) !== undefined;
  }

  /** The connection gater to hand to createLibp2p. */
  gater(): ConnectionGater {
    const denied = (peer: PeerId) => this.isDenied(peer.toString());
    return {
      denyDialPeer: denied,
      denyInboundEncryptedConnection: denied,
      denyOutboundEncryptedConnection: denied,
    };
  }
}
