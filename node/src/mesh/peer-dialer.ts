// Peers found through the DHT (not mDNS) are dialled at the multiaddrs their capability advertises,
// so that libp2p pings can judge their liveness. A peer whose dial failed is left alone a while.
// Those addresses are the peer's claim: only plain TCP ones at addresses a peer can listen on are
// dialled, a few at most (p2p/peer-addresses.ts), so a capability cannot aim the mesh at others.
import type { Logger } from "../log.ts";
import { dialableCapabilityAddrs } from "../p2p/peer-addresses.ts";
import type { P2pNode } from "../p2p/p2p-node.ts";
import type { PeerInfo } from "./peer-view.ts";

/** How long a peer's capability multiaddrs are left alone after a failed dial. */
export const REDIAL_AFTER_MS = 10_000;
/** One dial attempt per address. */
const DIAL_TIMEOUT_MS = 3_000;

export class PeerDialer {
  /** Peers of the view only: a peer that leaves it is forgotten (the view forgets departed nodes). */
  private readonly lastDial = new Map<string, number>();

  constructor(
    private readonly p2p: Pick<P2pNode, "connectedPeers" | "dial">,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Dials every peer not connected now and not tried within REDIAL_AFTER_MS. */
  dialUnconnected(peers: PeerInfo[]): void {
    const connected = new Set(this.p2p.connectedPeers());
    const inView = new Set(peers.map((p) => p.peerId));
    for (const peerId of this.lastDial.keys()) if (!inView.has(peerId)) this.lastDial.delete(peerId);
    const now = this.now();
    for (const peer of peers) {
      if (connected.has(peer.peerId) || now - (this.lastDial.get(peer.peerId) ?? -Infinity) < REDIAL_AFTER_MS) continue;
      this.lastDial.set(peer.peerId, now);
      void this.dialAny(peer).catch((err: Error) => this.log.debug({ peer: peer.name, err: err.message }, "could not dial peer"));
    }
  }

  /** LAN addresses first; loopback ones only reach a peer on this same machine. */
  private async dialAny(peer: PeerInfo): Promise<void> {
    const addrs = dialableCapabilityAddrs(peer.multiaddrs);
    let lastError: unknown = new Error(peer.multiaddrs.length ? "no dialable multiaddr advertised (plain TCP at a unicast address)" : "no multiaddrs advertised");
    for (const addr of addrs) {
      try {
        await this.p2p.dial(`${addr}/p2p/${peer.peerId}`, AbortSignal.timeout(DIAL_TIMEOUT_MS));
        return;
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }
}
