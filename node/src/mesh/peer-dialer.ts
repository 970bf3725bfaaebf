// Peers found through the DHT (not mDNS) are dialled at the multiaddrs their capability advertises,
// so that libp2p pings can judge their liveness. A peer that does not end up bound is tried less and
// less often (10 s, 20 s, … up to 5 minutes: dial-backoff.ts) until it binds or heartbeats again:
// its addresses are a claim (they may name a host that is not the peer's), so they may not have
// every node of the mesh dial them every few seconds forever.
import type { Logger } from "../log.ts";
import { DialBackoff } from "../p2p/dial-backoff.ts";
import type { P2pNode } from "../p2p/p2p-node.ts";
import type { PeerInfo } from "./peer-view.ts";

export const REDIAL_AFTER_MS = 10_000;
export const MAX_REDIAL_AFTER_MS = 5 * 60_000;
/** One dial attempt per address. */
const DIAL_TIMEOUT_MS = 3_000;

export class PeerDialer {
  private readonly backoff: DialBackoff;

  constructor(
    private readonly p2p: Pick<P2pNode, "connectedPeers" | "dial" | "on">,
    private readonly log: Logger,
    now: () => number = Date.now,
  ) {
    this.backoff = new DialBackoff({ firstMs: REDIAL_AFTER_MS, maxMs: MAX_REDIAL_AFTER_MS, now });
    // A completed binding, not a connection: a peer may connect and never bind.
    p2p.on("peer:bound", ({ peerId }: { peerId: string }) => this.backoff.reset(peerId));
  }

  /** Dials every peer not connected now whose next try is due; forgets peers that left the view. */
  dialUnconnected(peers: PeerInfo[]): void {
    const connected = new Set(this.p2p.connectedPeers());
    const inView = new Set(peers.map((p) => p.peerId));
    this.backoff.retain((peerId) => inView.has(peerId));
    for (const peer of peers) {
      if (connected.has(peer.peerId)) continue;
      // A peer back from a long silence heartbeats again: it is dialled within REDIAL_AFTER_MS, not 5 minutes.
      if (peer.online && peer.lastHeartbeatMs !== null) this.backoff.revive(peer.peerId, peer.lastHeartbeatMs);
      if (!this.backoff.due(peer.peerId)) continue;
      this.backoff.started(peer.peerId);
      this.dialAny(peer).catch((err: Error) => this.log.debug({ peer: peer.name, err: err.message }, "could not dial peer"));
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
