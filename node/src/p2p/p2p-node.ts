// The daemon's libp2p seam: one libp2p 3 node (TCP + noise + yamux, identify, ping, optional mDNS)
// plus what Ripple Mesh needs on top of it — every connection runs the binding handshake, peers are
// "bound" (peer id ↔ agent key) only once it verifies, bound peers are pinged for liveness, and
// protocols are one JSON request → one JSON response with size limits on both sides.
import "./polyfill.ts"; // first: libp2p 3 calls Promise.withResolvers, which Node 20 lacks
import { EventEmitter } from "node:events";
import { identify } from "@libp2p/identify";
import type { Libp2p, PeerDiscovery, PeerId, PrivateKey } from "@libp2p/interface";
import { mdns } from "@libp2p/mdns";
import { noise } from "@libp2p/noise";
import { peerIdFromString } from "@libp2p/peer-id";
import { ping, type Ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { peerBindingProblem } from "@ripple-mesh/zome-bindings";
import { createLibp2p } from "libp2p";
import { RippleError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { BindingHandshake, defaultHandshakeTimings, type HandshakeTimings, type LocalBinding } from "./binding-handshake.ts";
import { BoundPeers, type BoundPeer } from "./bound-peers.ts";
import { InboundGate, type RequestSender } from "./inbound-gate.ts";
import { requestProgressOver, serveProgressStream, type ProgressContext } from "./json-progress-stream.ts";
import { requestJsonOver, serveJson } from "./json-stream.ts";
import { Liveness } from "./liveness.ts";
import { MdnsDialer } from "./mdns-dialer.ts";
import { PeerBudgets, defaultInboundLimits, type InboundLimits } from "./peer-budget.ts";
import { PeerDenyList } from "./peer-deny-list.ts";

export type { BoundPeer, HandshakeTimings, InboundLimits, LocalBinding, RequestSender };

/** The service tag Ripple nodes use on the LAN unless told otherwise. */
export const defaultMdnsServiceTag = "_ripple-mesh._udp.local";

export interface P2pNodeOptions {
  /** The node's persistent Ed25519 key (identity/libp2p-key.ts); its peer id is the node's. */
  privateKey: PrivateKey;
  /** Default ["/ip4/0.0.0.0/tcp/0"]. */
  listen?: string[];
  /**
   * mDNS service tag. null: no mDNS. Nodes only discover nodes with the same tag, so separate
   * meshes (and parallel tests) on one LAN stay apart. Default defaultMdnsServiceTag.
   */
  mdnsServiceTag?: string | null;
  /** How often bound, connected peers are pinged. Default 2000. */
  pingIntervalMs?: number;
  log: Logger;
  /** This node's binding; can also be given later with setBinding. */
  binding?: LocalBinding;
  /** Handshake timings and deny cooldown (defaults in binding-handshake.ts). */
  handshake?: Partial<HandshakeTimings>;
  /** How long a request to a bound-only protocol waits (unread) for the requester's handshake under way. Default 10000. */
  unboundGraceMs?: number;
  /** What one peer may hold at once and the request read deadline (defaults in peer-budget.ts). */
  inbound?: Partial<InboundLimits>;
  /** Most bound peers remembered (disconnected ones with the oldest lastSeen go first). Default 4096. */
  maxBoundPeers?: number;
}

export interface JsonHandlerOptions {
  /** Largest request accepted, in bytes of JSON; larger ones are refused with "too-large". */
  maxBytes: number;
  /** Also serve peers whose binding is not verified (default false: they get an "unbound" refusal). */
  allowUnbound?: boolean;
  /** Concurrent requests per connection on this protocol. Default 32. */
  maxInboundStreams?: number;
}

export interface JsonRequestOptions {
  timeoutMs: number;
  /** Limit for our request and for the peer's response, in bytes of JSON. */
  maxBytes: number;
  signal?: AbortSignal;
}

export type JsonHandler = (request: unknown, from: RequestSender) => Promise<unknown>;
/** A handler that streams progress frames before its result (see json-progress-stream.ts). */
export type ProgressHandler = (request: unknown, from: RequestSender, ctx: ProgressContext) => Promise<unknown>;
export interface ProgressRequestOptions extends JsonRequestOptions {
  idleTimeoutMs?: number;
  onProgress: (progress: unknown) => void;
}

export interface P2pNodeEvents {
  /** mDNS reported this peer (once per peer until it disconnects). */
  "peer:discovered": [peerId: string];
  /** The peer's binding verified on its current connection. */
  "peer:bound": [{ peerId: string; agentPubKey: Uint8Array }];
  /** denied: its binding did not verify (closed + denied for the cooldown); false: it never presented one (closed only). */
  "peer:refused": [{ peerId: string; reason: string; denied: boolean }];
  /** The last connection to this peer closed. */
  "peer:disconnected": [peerId: string];
}

type Services = { identify: ReturnType<ReturnType<typeof identify>>; ping: Ping };

export class P2pNode extends EventEmitter<P2pNodeEvents> {
  readonly peerId: string;

  private constructor(
    private readonly libp2p: Libp2p<Services>,
    private readonly handshake: BindingHandshake,
    private readonly bound: BoundPeers,
    private readonly denyList: PeerDenyList,
    private readonly liveness: Liveness,
    private readonly mdnsDialer: MdnsDialer | undefined,
    private readonly log: Logger,
    private readonly budgets: PeerBudgets,
    private readonly gate: InboundGate,
  ) {
    super();
    this.peerId = libp2p.peerId.toString();
  }

  static async start(opts: P2pNodeOptions): Promise<P2pNode> {
    const log = opts.log.child({ seam: "p2p" });
    const tag = opts.mdnsServiceTag === undefined ? defaultMdnsServiceTag : opts.mdnsServiceTag;
    const denyList = new PeerDenyList();
    const bound = new BoundPeers(opts.maxBoundPeers);
    const budgets = new PeerBudgets({ ...defaultInboundLimits, ...opts.inbound });
    let discovery: PeerDiscovery | undefined;
    const libp2p = await createLibp2p<Services>({
      privateKey: opts.privateKey,
      // Handlers must exist before the first connection can arrive: start after registering them.
      start: false,
      addresses: { listen: opts.listen ?? ["/ip4/0.0.0.0/tcp/0"] },
      transports: [tcp({ maxConnections: 512, inboundSocketInactivityTimeout: 60_000, outboundSocketInactivityTimeout: 60_000 })],
      connectionEncrypters: [noise()],
      streamMuxers: [
        yamux({
          // A mesh node talks to tens of peers with a few streams each; these bound what one peer can make us hold.
          maxInboundStreams: 256,
          maxOutboundStreams: 256,
          maxEarlyStreams: 16,
          streamOptions: { maxReadBufferLength: 4 * 1024 * 1024, maxWriteBufferLength: 16 * 1024 * 1024, inactivityTimeout: 120_000 },
        }),
      ],
      // Capture the mDNS instance: we dial from its own 'peer' events (mdns-dialer.ts says why).
      peerDiscovery: tag === null ? [] : [(components) => (discovery = mdns({ serviceTag: tag, interval: 1_000 })(components))],
      connectionGater: denyList.gater(),
      connectionManager: { maxConnections: 256, maxIncomingPendingConnections: 32, dialTimeout: 10_000, inboundUpgradeTimeout: 10_000 },
      // libp2p's connection monitor pings every connection on the same /ipfs/ping protocol as
      // liveness.ts, and by default aborts the connection when a ping fails. With ping's default of
      // one outbound stream, the two collided ("Too many outbound protocol streams … 2/1"), and the
      // abort killed jobs streaming on that connection (seen in CI). So: room for both pings, and a
      // late ping never aborts a connection (liveness.ts judges peers; job streams have deadlines).
      connectionMonitor: { abortConnectionOnPingFailure: false },
      // identify records a peer's listen addresses (an inbound connection only shows its ephemeral
      // port), so requestJson(peerId) can redial it; ping is what liveness.ts measures with.
      services: { identify: identify(), ping: ping({ timeout: 10_000, maxOutboundStreams: 4, maxInboundStreams: 8 }) },
    });

    let node: P2pNode | undefined;
    const timings = { ...defaultHandshakeTimings, ...opts.handshake };
    const handshake = new BindingHandshake(
      libp2p,
      bound,
      denyList,
      {
        bound: (peerId, agentPubKey) => node?.emit("peer:bound", { peerId, agentPubKey: Uint8Array.from(agentPubKey) }),
        refused: (peerId, reason, denied) => node?.emit("peer:refused", { peerId, reason, denied }),
      },
      log,
      timings,
    );
    const liveness = new Liveness(libp2p, bound, opts.pingIntervalMs ?? 2_000, log);
    const mdnsDialer = discovery ? new MdnsDialer(libp2p, denyList, (peerId) => node?.emit("peer:discovered", peerId), log) : undefined;
    const gate = new InboundGate({ handshake, bound, budgets, unboundGraceMs: opts.unboundGraceMs ?? 10_000, denyCooldownMs: timings.stallCooldownMs, log });
    node = new P2pNode(libp2p, handshake, bound, denyList, liveness, mdnsDialer, log, budgets, gate);
    if (opts.binding) node.setBinding(opts.binding);

    await handshake.start();
    if (discovery) mdnsDialer!.attach(discovery);
    libp2p.addEventListener("peer:disconnect", (evt: CustomEvent<PeerId>) => {
      const peer = evt.detail.toString();
      // Per-peer state goes with the peer: its strikes now, the oldest disconnected bound peers past the cap.
      budgets.forget(peer);
      bound.prune((p) => libp2p.getConnections(peerIdFromString(p)).length > 0);
      node!.emit("peer:disconnected", peer);
    });
    try {
      await libp2p.start();
    } catch (err) {
      await Promise.resolve(libp2p.stop()).catch(() => {});
      throw new RippleError(`libp2p could not start listening on ${(opts.listen ?? ["/ip4/0.0.0.0/tcp/0"]).join(", ")}: ${(err as Error).message}`, "free the port or choose other listen addresses", { cause: err });
    }
    liveness.start();
    log.info({ peerId: node.peerId, multiaddrs: node.multiaddrs(), mdns: tag }, "libp2p node listening");
    return node;
  }

  /** Listen addresses WITHOUT the /p2p/<peer id> suffix (records carry the peer id separately); wildcards expanded. */
  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((ma) => ma.toString().replace(/\/p2p\/[^/]+$/, ""));
  }

  /** Connects to an address (with or without /p2p/<id>); resolves to the remote's authenticated peer id. */
  async dial(address: string, signal?: AbortSignal): Promise<string> {
    const connection = await this.libp2p.dial(multiaddr(address), { signal: signal ?? AbortSignal.timeout(10_000) });
    return connection.remotePeer.toString();
  }

  /** Our binding, presented to every peer's handshake. Bytes are not checked beyond a warning (tests present forged ones). */
  setBinding(binding: LocalBinding): void {
    this.handshake.setBinding(binding);
    void peerBindingProblem({ peer_id: this.peerId, agent_signature: binding.agentSignature, peer_signature: binding.peerSignature }, binding.agentPubKey)
      .catch((err: unknown) => (err as Error).message)
      .then((problem) => {
        if (problem) this.log.warn({ problem }, "this node's own peer binding does not verify; peers will refuse it");
      });
  }

  /** Every peer whose binding verified (also disconnected ones, with their last lastSeenMs). */
  boundPeers(): BoundPeer[] {
    return this.bound.list();
  }

  /** Date.now() of the peer's last successful ping or handshake, if it is bound. */
  lastSeen(peerId: string): number | undefined {
    return this.bound.get(peerId)?.lastSeenMs;
  }

  /** The IP address a connected peer's connection comes from (direct transfers dial it), if any. */
  remoteHost(peerId: string): string | undefined {
    for (const c of this.libp2p.getConnections(peerIdFromString(peerId))) {
      const addr = c.remoteAddr.toString();
      const m = /^\/ip[46]\/([^/]+)\/tcp\//.exec(addr);
      if (m && !addr.includes("/p2p-circuit")) return m[1]; // a relayed connection's address is the relay's
    }
    return undefined;
  }

  connectedPeers(): string[] {
    return this.libp2p.getPeers().map((p) => p.toString());
  }

  /** Whether the peer is kept out for a failed binding (cooldown). */
  isDenied(peerId: string): boolean {
    return this.denyList.isDenied(peerId);
  }

  /** Serve one JSON request → one JSON response on `protocol`. Bound peers only unless allowUnbound. */
  async handleJson(protocol: string, handler: JsonHandler, opts: JsonHandlerOptions): Promise<void> {
    await this.libp2p.handle(
      protocol,
      async (stream, connection) => {
        const admitted = await this.gate.admit(protocol, stream, connection.remotePeer.toString(), opts.allowUnbound === true);
        if (!admitted) return;
        try {
          await serveJson(stream, { ...this.readLimits(opts, admitted.lease.reserve), handle: async (request) => handler(request, admitted.sender) });
        } finally {
          admitted.lease.release();
        }
      },
      { maxInboundStreams: opts.maxInboundStreams ?? 32 },
    );
  }

  /** Serve one JSON request → progress frames → one result on `protocol`. Bound peers only unless allowUnbound. */
  async handleProgress(protocol: string, handler: ProgressHandler, opts: JsonHandlerOptions): Promise<void> {
    await this.libp2p.handle(
      protocol,
      async (stream, connection) => {
        const admitted = await this.gate.admit(protocol, stream, connection.remotePeer.toString(), opts.allowUnbound === true);
        if (!admitted) return;
        try {
          await serveProgressStream(stream, { ...this.readLimits(opts, admitted.lease.reserve), handle: async (request, ctx) => handler(request, admitted.sender, ctx) });
        } finally {
          admitted.lease.release();
        }
      },
      { maxInboundStreams: opts.maxInboundStreams ?? 32 },
    );
  }

  private readLimits(opts: JsonHandlerOptions, reserve: (bytes: number) => boolean) {
    return { maxBytes: opts.maxBytes, readTimeoutMs: this.budgets.limits.readTimeoutMs, reserve };
  }

  /** What the peer holds at this node now (inbound streams, request bytes, streams waiting for its handshake). */
  inboundHeld(peerId: string): { streams: number; bytes: number; waiting: number } {
    return this.budgets.held(peerId);
  }

  /** Send one request and receive its progress frames and result (dialing the peer if needed). */
  async requestProgress(peerId: string, protocol: string, request: unknown, opts: ProgressRequestOptions): Promise<unknown> {
    const peer = peerIdFromString(peerId);
    return requestProgressOver((signal) => this.libp2p.dialProtocol(peer, protocol, { signal }), { peerId, protocol }, request, opts);
  }

  /**
   * Send one JSON request to a peer (dialing it if needed) and return the result. Throws TimeoutError,
   * P2pMessageTooLargeError, P2pRemoteError (with .code), P2pProtocolError or P2pRequestError.
   */
  async requestJson(peerId: string, protocol: string, request: unknown, opts: JsonRequestOptions): Promise<unknown> {
    const peer = peerIdFromString(peerId);
    return requestJsonOver((signal) => this.libp2p.dialProtocol(peer, protocol, { signal }), { peerId, protocol }, request, opts);
  }

  async stop(): Promise<void> {
    this.liveness.stop();
    this.mdnsDialer?.stop();
    this.handshake.stop();
    await this.libp2p.stop();
    this.log.info({ peerId: this.peerId }, "libp2p node stopped");
  }
}
