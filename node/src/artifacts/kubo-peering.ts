// The libp2p protocol between daemons about their kubo nodes (`/ripple-mesh/kubo/1.0.0`, bound
// peers only):
//   hello {peerId, addrs} → {peerId, addrs}: each side tells the other where its kubo listens and
//     both add the other as a kubo peering (kubo keeps that connection up and redials it), so the
//     mesh's kubo nodes form their own swarm without any DHT or public bootstrap.
//   prove {cid, block} → {pinned, data}: "show me this block of the CID you say you provide". The
//     asker picked `block` at random from the CID's DAG and checks the bytes against the block's own
//     hash, so a provider record by an agent that does not hold the content is caught (the provider
//     answers from its kubo offline: it cannot borrow the block from the network on the fly).
import { networkInterfaces } from "node:os";
import { z } from "zod";
import type { Logger } from "../log.ts";
import { ipOf, isLoopbackIp, loopbackLast } from "../p2p/peer-addresses.ts";
import type { P2pNode, RequestSender } from "../p2p/p2p-node.ts";
import type { IpfsStore } from "./ipfs-store.ts";
import { PerKeyRate } from "../per-key-rate.ts";
import { JsonRefusal } from "../p2p/json-stream.ts";

export const kuboProtocol = "/ripple-mesh/kubo/1.0.0";
/** A proof carries one block (≤ 2 MiB, base64) plus the envelope. */
export const kuboProtocolMaxBytes = 3 * 1024 * 1024 + 64 * 1024;

const cidText = z.string().min(8).max(128).regex(/^[A-Za-z0-9]+$/, "a CID");
const helloSchema = z.strictObject({ op: z.literal("hello"), peerId: z.string().min(1).max(128), addrs: z.array(z.string().min(1).max(256)).max(16) });
const proveSchema = z.strictObject({ op: z.literal("prove"), cid: cidText, block: cidText });
const requestSchema = z.discriminatedUnion("op", [helloSchema, proveSchema]);
/** Proofs answered per asking peer a minute (a verifier asks one block per provider check). */
export const PROVES_PER_MINUTE = 120;
export const helloAnswerSchema = z.strictObject({ peerId: z.string().min(1).max(128), addrs: z.array(z.string().max(256)).max(16) });
export const proveAnswerSchema = z.strictObject({ pinned: z.boolean(), data: z.string().max(3 * 1024 * 1024).nullable(), error: z.string().max(512).nullable() });
export type ProveAnswer = z.infer<typeof proveAnswerSchema>;

export interface KuboPeeringOptions {
  p2p: P2pNode;
  ipfs: IpfsStore;
  log: Logger;
}

/** Loopback swarm addresses only reach a kubo on this same machine; they go last. */
function ordered(addrs: string[]): string[] {
  return loopbackLast(addrs).slice(0, 16);
}

/**
 * The addresses of a daemon's hello that this node's kubo may dial: the named kubo's, at the IP
 * address the daemon's own libp2p connection comes from. A daemon's word is not enough to have
 * kubo dial (and redial forever) some other host and port: a peer could aim it at third parties.
 * A relayed connection (no host of its own) gives none.
 */
export function dialableAddrs(addrs: string[], kuboPeer: string, daemonHost: string | undefined, ownAddresses: ReadonlySet<string> = thisMachinesAddresses()): string[] {
  if (daemonHost === undefined) return [];
  // A daemon on this same machine (its connection comes from one of our own addresses) may have
  // its kubo on loopback only (storage policy kubo.swarm_bind: loopback).
  const sameMachine = ownAddresses.has(daemonHost);
  const reachable = (ip: string | undefined) => ip === daemonHost || (sameMachine && isLoopbackIp(ip));
  return addrs.filter((a) => a.endsWith(`/p2p/${kuboPeer}`) && reachable(ipOf(a)) && !a.includes("/p2p-circuit"));
}

function thisMachinesAddresses(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));
}

export class KuboPeering {
  private readonly log: Logger;
  /**
   * libp2p peer id → the kubo peer id it told us; connected peers only (dropped on disconnect, helloed
   * again on return). kubo's peering list holds exactly these: one kubo per connected daemon, so a
   * peer that says hello with ever new kubo ids, or comes and goes, cannot grow what kubo redials.
   */
  private readonly kuboOf = new Map<string, string>();
  /** Peering changes per libp2p peer, one after another (two hellos at once must not both stay). */
  private readonly peeringChain = new Map<string, Promise<void>>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Per connected peer, its newest hello not yet acted on. */
  private readonly pendingHello = new Map<string, { kuboPeer: string; addrs: string[] }>();
  private readonly provesPerPeer = new PerKeyRate();

  constructor(private readonly opts: KuboPeeringOptions) {
    this.log = opts.log.child({ seam: "kubo-peering" });
  }

  async start(): Promise<void> {
    await this.opts.p2p.handleJson(kuboProtocol, (req, from) => this.handle(req, from), { maxBytes: kuboProtocolMaxBytes });
    this.opts.p2p.on("peer:bound", this.onBound);
    this.opts.p2p.on("peer:disconnected", this.onDisconnected);
    for (const p of this.opts.p2p.boundPeers()) void this.hello(p.peerId);
  }

  stop(): void {
    this.opts.p2p.off("peer:bound", this.onBound);
    this.opts.p2p.off("peer:disconnected", this.onDisconnected);
  }

  private readonly onBound = ({ peerId }: { peerId: string }): void => void this.hello(peerId);
  // A daemon that left takes its kubo peering with it (kubo would otherwise redial it forever).
  private readonly onDisconnected = (peerId: string): void => {
    // A hello still waiting is from the connection that ended: one after a reconnect queues behind the unpeer.
    this.pendingHello.delete(peerId);
    void this.serially(peerId, async () => {
      const known = this.kuboOf.get(peerId);
      this.kuboOf.delete(peerId);
      if (known) await this.unpeer(known);
    });
  };

  /** Runs `change` after the earlier peering changes for `libp2pPeer`. */
  private serially(libp2pPeer: string, change: () => Promise<void>): Promise<void> {
    const next = (this.peeringChain.get(libp2pPeer) ?? Promise.resolve()).then(change, change);
    const settled = next.finally(() => {
      if (this.peeringChain.get(libp2pPeer) === settled) this.peeringChain.delete(libp2pPeer);
    });
    this.peeringChain.set(libp2pPeer, settled);
    return settled;
  }

  /**
   * Drops kubo's peering with `kuboPeer` unless another connected daemon named the same kubo (two
   * daemons sharing one kubo, or a peer repeating an honest daemon's id to have it dropped).
   */
  private async unpeer(kuboPeer: string): Promise<void> {
    if ([...this.kuboOf.values()].includes(kuboPeer)) return;
    await this.opts.ipfs.unpeer(kuboPeer, { timeoutMs: 5000 }).catch((err: Error) => this.log.debug({ kubo: kuboPeer, err: err.message }, "kubo peering rm failed"));
  }

  /** The kubo peer id a daemon told us, if it did. */
  kuboPeerOf(libp2pPeerId: string): string | undefined {
    return this.kuboOf.get(libp2pPeerId);
  }

  /** Tell every connected bound peer again (after our kubo restarted). */
  rehelloAll(): void {
    const connected = new Set(this.opts.p2p.connectedPeers());
    for (const p of this.opts.p2p.boundPeers()) if (connected.has(p.peerId)) void this.hello(p.peerId, true);
  }

  /** Exchange kubo addresses with one daemon and peer the two kubo nodes (once at a time per peer). */
  hello(peerId: string, force = false): Promise<void> {
    if (!force && this.kuboOf.has(peerId)) return Promise.resolve();
    const running = this.inFlight.get(peerId);
    if (running) return running;
    const p = (async () => {
      try {
        const me = await this.opts.ipfs.id({ timeoutMs: 5000 });
        const answer = helloAnswerSchema.parse(
          await this.opts.p2p.requestJson(peerId, kuboProtocol, { op: "hello", peerId: me.peerId, addrs: ordered(me.addrs) }, { timeoutMs: 10_000, maxBytes: 64 * 1024 }),
        );
        await this.serially(peerId, () => this.peerWith(peerId, answer.peerId, answer.addrs));
      } catch (err) {
        this.log.debug({ peer: peerId, err: (err as Error).message }, "kubo hello failed (the peer may run without IPFS)");
      } finally {
        this.inFlight.delete(peerId);
      }
    })();
    this.inFlight.set(peerId, p);
    return p;
  }

  private async peerWith(libp2pPeer: string, kuboPeer: string, addrs: string[]): Promise<void> {
    if (!this.opts.p2p.connectedPeers().includes(libp2pPeer)) return;
    const own = dialableAddrs(addrs, kuboPeer, this.opts.p2p.remoteHost(libp2pPeer));
    if (own.length === 0) {
      if (addrs.length > 0) this.log.debug({ peer: libp2pPeer, kubo: kuboPeer, addrs: addrs.slice(0, 4) }, "no kubo address of the daemon's own host: not peered");
      return;
    }
    // The daemon now names another kubo (restarted with a new identity, or lying): the old one goes.
    const known = this.kuboOf.get(libp2pPeer);
    if (known && known !== kuboPeer) {
      this.kuboOf.delete(libp2pPeer);
      await this.unpeer(known);
    }
    // Reserved while peering: another daemon that named the same kubo and leaves meanwhile must not drop it.
    this.kuboOf.set(libp2pPeer, kuboPeer);
    const release = () => {
      if (this.kuboOf.get(libp2pPeer) === kuboPeer) this.kuboOf.delete(libp2pPeer);
    };
    let peered = 0;
    for (const addr of ordered(own)) {
      try {
        await this.opts.ipfs.peer(addr, { timeoutMs: 5000 });
        peered++;
      } catch (err) {
        this.log.debug({ addr, err: (err as Error).message }, "kubo peering add failed");
      }
    }
    if (peered === 0) return release();
    // A peer that left while we were peering is not kept.
    if (!this.opts.p2p.connectedPeers().includes(libp2pPeer)) {
      release();
      await this.unpeer(kuboPeer);
      return;
    }
    if (known !== kuboPeer) this.log.info({ peer: libp2pPeer, kubo: kuboPeer, addrs: own.length }, "peered with a mesh peer's kubo");
  }

  private async handle(raw: unknown, from: RequestSender): Promise<unknown> {
    const req = requestSchema.parse(raw);
    if (req.op === "hello") {
      // Only the newest hello of a peer waits its turn: hellos sent faster than kubo peers do not queue up.
      const waiting = this.pendingHello.get(from.peerId);
      if (waiting) Object.assign(waiting, { kuboPeer: req.peerId, addrs: req.addrs });
      else {
        const hello = { kuboPeer: req.peerId, addrs: req.addrs };
        this.pendingHello.set(from.peerId, hello);
        void this.serially(from.peerId, async () => {
          // Dropped by a disconnect meanwhile: a hello after the reconnect has its own turn, after the unpeer.
          if (this.pendingHello.get(from.peerId) !== hello) return;
          this.pendingHello.delete(from.peerId);
          await this.peerWith(from.peerId, hello.kuboPeer, hello.addrs);
        });
      }
      const me = await this.opts.ipfs.id({ timeoutMs: 5000 });
      return { peerId: me.peerId, addrs: ordered(me.addrs) };
    }
    // A proof costs this node a block read from disk (up to 2 MiB) and its answer: held to a rate per peer.
    if (!this.provesPerPeer.take(from.peerId, PROVES_PER_MINUTE)) throw new JsonRefusal("busy", `more than ${PROVES_PER_MINUTE} proofs asked in a minute; retry later`);
    return this.prove(req.cid, req.block);
  }

  /** Our side of a proof: whether we pin `cid`, and the requested block from our own store only. */
  private async prove(cid: string, block: string): Promise<ProveAnswer> {
    const { ipfs } = this.opts;
    const pinned = await ipfs.isPinned(cid, { timeoutMs: 5000 }).catch(() => false);
    if (!pinned) return { pinned: false, data: null, error: "not pinned here" };
    try {
      const data = await ipfs.blockGet(block, { offline: true, timeoutMs: 5000 });
      return { pinned: true, data: Buffer.from(data).toString("base64"), error: null };
    } catch (err) {
      return { pinned: true, data: null, error: `block not held: ${(err as Error).message.slice(0, 200)}` };
    }
  }
}
