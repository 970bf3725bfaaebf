// Peers found through the DHT (not mDNS) are dialled at the multiaddrs their capability advertises,
// so that libp2p pings can judge their liveness. A peer whose dials keep failing is tried less and
// less often (10 s, 20 s, … up to 5 minutes): a departed node's capability stays in the DHT, and
// advertised addresses are a peer's claim (they may name a host that is not the peer's), so neither
// may have every node of the mesh dial them every few seconds forever.
import type { Logger } from "../log.ts";
import type { P2pNode } from "../p2p/p2p-node.ts";
import type { PeerInfo } from "./peer-view.ts";

/** How long a peer's capability multiaddrs are left alone after its first failed dial; doubled per failure after. */
export const REDIAL_AFTER_MS = 10_000;
export const MAX_REDIAL_AFTER_MS = 5 * 60_000;
/** One dial attempt per address. */
const DIAL_TIMEOUT_MS = 3_000;

interface DialState {
  nextAtMs: number;
  failures: number;
}

export class PeerDialer {
  private readonly dials = new Map<string, DialState>();

  constructor(
    private readonly p2p: Pick<P2pNode, "connectedPeers" | "dial">,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Dials every peer not connected now whose next try is due; forgets peers that left the view. */
  dialUnconnected(peers: PeerInfo[]): void {
    const connected = new Set(this.p2p.connectedPeers());
    const inView = new Set(peers.map((p) => p.peerId));
    for (const peerId of this.dials.keys()) if (!inView.has(peerId) || connected.has(peerId)) this.dials.delete(peerId);
    const now = this.now();
    for (const peer of peers) {
      if (connected.has(peer.peerId)) continue;
      const state = this.dials.get(peer.peerId) ?? { nextAtMs: 0, failures: 0 };
      if (now < state.nextAtMs) continue;
      // Until this dial ends, and after it when it failed: the wait doubles with each failure.
      state.nextAtMs = now + Math.min(MAX_REDIAL_AFTER_MS, REDIAL_AFTER_MS * 2 ** Math.min(state.failures, 10));
      this.dials.set(peer.peerId, state);
      this.dialAny(peer).then(
        () => this.dials.delete(peer.peerId),
        (err: Error) => {
          state.failures++;
          this.log.debug({ peer: peer.name, failures: state.failures, err: err.message }, "could not dial peer");
        },
      );
    }
  }

  /** LAN addresses first; loopback ones only reach a peer on this same machine. */
  private async dialAny(peer: PeerInfo): Promise<void> {
    const loopback = (a: string) => a.startsWith("/ip4/127.") || a.startsWith("/ip6/::1/");
    const addrs = [...peer.multiaddrs.filter((a) => !loopback(a)), ...peer.multiaddrs.filter(loopback)];
    let lastError: unknown = new Error("no multiaddrs advertised");
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
