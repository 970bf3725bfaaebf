// Liveness: every interval, ping each bound peer we are connected to (libp2p ping protocol) and
// record when it answered. Disconnected peers are not pinged (that would redial them) and keep
// their last value: the daemon decides "offline" with its own liveness window.
import { peerIdFromString } from "@libp2p/peer-id";
import type { Libp2p } from "@libp2p/interface";
import type { Ping } from "@libp2p/ping";
import type { Logger } from "../log.ts";
import type { BoundPeers } from "./bound-peers.ts";
import { linkSignals } from "../linked-signal.ts";

export class Liveness {
  private timer: NodeJS.Timeout | undefined;
  /** One ping per peer at a time: a slow peer must not pile up pings. */
  private readonly pinging = new Set<string>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly libp2p: Libp2p<{ ping: Ping }>,
    private readonly peers: BoundPeers,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.stopping.abort(new Error("the p2p node is stopping"));
  }

  private tick(): void {
    for (const peer of this.peers.ids()) {
      if (this.pinging.has(peer)) continue;
      const id = peerIdFromString(peer);
      if (!this.libp2p.getConnections(id).some((c) => c.status === "open")) continue;
      this.pinging.add(peer);
      // A ping may take up to two intervals (at least 5 s) before it counts as missed.
      const link = linkSignals(AbortSignal.timeout(Math.max(5_000, 2 * this.intervalMs)), this.stopping.signal);
      this.libp2p.services.ping
        .ping(id, { signal: link.signal })
        .then(() => this.peers.touch(peer))
        .catch((err: unknown) => this.log.debug({ peer, err: (err as Error).message }, "ping failed"))
        .finally(() => {
          link.dispose();
          this.pinging.delete(peer);
        });
    }
  }
}
