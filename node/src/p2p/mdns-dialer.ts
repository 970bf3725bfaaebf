// Dials the peers mDNS finds. libp2p 3 only stores discovered addresses (and fires its own
// 'peer:discovery' just once per peer-store entry), so we listen to the mDNS service itself: it
// reports every peer on every query round, which also brings a peer back after it reconnects.
//
// Both nodes of a pair hear each other, so the one with the lower peer id dials; the other dials
// only if no connection arrived within a grace period (the lower one may be unable to reach it).
// That keeps a pair to one connection in the normal case.
import type { Libp2p, PeerDiscovery, PeerId, PeerInfo } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import type { Logger } from "../log.ts";
import type { PeerDenyList } from "./peer-deny-list.ts";
import { dialableCapabilityAddrs } from "./peer-addresses.ts";

const HIGHER_ID_GRACE_MS = 3_000;
/** Peers remembered as reported-but-unconnected (a LAN can announce any number of ids). */
const MAX_TRACKED = 1024;

export class MdnsDialer {
  /** Peers mDNS reported since they were last connected (first report time). */
  private readonly unconnectedSince = new Map<string, number>();
  /** Peers announced with onDiscovered; cleared when they disconnect, so a return is announced again. */
  private readonly announced = new Set<string>();
  private readonly dialing = new Set<string>();
  private stopped = false;

  constructor(
    private readonly libp2p: Libp2p,
    private readonly denyList: PeerDenyList,
    private readonly onDiscovered: (peerId: string) => void,
    private readonly log: Logger,
  ) {}

  attach(discovery: PeerDiscovery): void {
    discovery.addEventListener("peer", this.onPeer);
    this.libp2p.addEventListener("peer:disconnect", this.onDisconnect);
  }

  stop(): void {
    this.stopped = true;
    this.libp2p.removeEventListener("peer:disconnect", this.onDisconnect);
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.announced.delete(evt.detail.toString());
    this.unconnectedSince.delete(evt.detail.toString());
  };

  private readonly onPeer = (evt: CustomEvent<PeerInfo>): void => {
    if (this.stopped) return;
    const info = evt.detail;
    const peer = info.id.toString();
    const self = this.libp2p.peerId.toString();
    if (peer === self) return;
    if (!this.announced.has(peer)) {
      if (this.announced.size >= MAX_TRACKED) dropOldest(this.announced);
      this.announced.add(peer);
      this.onDiscovered(peer);
    }
    if (this.libp2p.getConnections(info.id).length > 0) {
      this.unconnectedSince.delete(peer);
      return;
    }
    // What an mDNS answer lists is the answerer's claim, like a capability's addresses (peer-addresses.ts).
    const dialable = dialableCapabilityAddrs(info.multiaddrs.map(String));
    if (this.denyList.isDenied(peer) || this.dialing.has(peer) || dialable.length === 0) return;
    const now = Date.now();
    const since = this.unconnectedSince.get(peer) ?? now;
    if (!this.unconnectedSince.has(peer) && this.unconnectedSince.size >= MAX_TRACKED) dropOldest(this.unconnectedSince);
    this.unconnectedSince.set(peer, since);
    if (self > peer && now - since < HIGHER_ID_GRACE_MS) return;
    this.dialing.add(peer);
    const addrs = dialable.map((a) => multiaddr(`${a}/p2p/${peer}`));
    this.libp2p
      .dial(addrs, { signal: AbortSignal.timeout(10_000) })
      .then(() => this.log.debug({ peer }, "connected to a peer found by mDNS"))
      .catch((err: unknown) => this.log.debug({ peer, err: (err as Error).message }, "could not dial a peer found by mDNS"))
      .finally(() => this.dialing.delete(peer));
  };
}

/** Drops the first-inserted quarter of a Map or Set (insertion order = oldest first). */
function dropOldest(collection: Map<string, unknown> | Set<string>): void {
  let n = Math.ceil(collection.size / 4);
  for (const key of collection.keys()) {
    if (n-- <= 0) break;
    collection.delete(key);
  }
}
