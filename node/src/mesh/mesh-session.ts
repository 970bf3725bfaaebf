// One joined mesh: the libp2p node (mDNS only where the network uses it), the bootstrap/relay URL
// (elected among local nodes, or the network's configured server), the conductor on that mesh's
// DNAs, the advertised capability and its libp2p binding, heartbeats, and the peer view.
// The daemon starts one session per `ripple up`/`ripple join` and stops it before another.
import { EventEmitter } from "node:events";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { encodeHashToBase64 } from "@holochain/client";
import type { PrivateKey } from "@libp2p/interface";
import { agentRegistry, type CapabilityDraft, type Load, type MeshView, type ZomeCaller } from "@ripple-mesh/zome-bindings";
import { FilteredBootstrapServer } from "../bootstrap/filtered-bootstrap-server.ts";
import { assertBootstrapReachable } from "../bootstrap/bootstrap-probe.ts";
import { LocalMeshHost, type MeshHostState } from "../bootstrap/local-mesh-host.ts";
import { Conductor } from "../conductor/conductor.ts";
import { DaemonNotReadyError } from "../errors.ts";
import { nodePaths } from "../config/node-paths.ts";
import type { NetworkChoice } from "../config/network-choice.ts";
import type { Toolchain } from "../config/toolchain.ts";
import type { Logger } from "../log.ts";
import { P2pNode } from "../p2p/p2p-node.ts";
import { HeartbeatLoop } from "./heartbeat-loop.ts";
import { meshState, otherAgentsInPeerStore, type MeshStatus } from "./mesh-status.ts";
import { boundAgentKeys, buildPeerView, disconnectedBoundAgents, ClockAheadMemory, mergeMeshViews, type PeerInfo } from "./peer-view.ts";
import { PeerDialer } from "./peer-dialer.ts";
import { localReadEveryMs } from "./read-cadence.ts";
import { lanAddress } from "./lan-address.ts";

export interface MeshSessionOptions {
  dataDir: string;
  choice: NetworkChoice;
  toolchain: Toolchain;
  happFile: string;
  libp2pKey: PrivateKey;
  /** Builds the capability to advertise (probe figures, models); multiaddrs are added here. */
  draft: (agentPubKey: Uint8Array, multiaddrs: string[]) => Promise<CapabilityDraft>;
  sampleLoad: () => Promise<Load>;
  activeJobs: () => number;
  p2pListen: string[];
  livenessWindowMs: number;
  heartbeatIntervalMs: number;
  log: Logger;
}

/** How often the peer view is recomputed (and online/offline changes announced). */
const peerWatchIntervalMs = 1000;
/** How often the mesh is also read from the network (local reads: read-cadence.ts). */
const networkReadEveryMs = 10_000;
/**
 * While the conductor's peer store knows agents whose capability this node does not hold yet (a node
 * that is joining), the network is read at once and then every 1, 2, 4, 4… s for a minute, then every
 * 30 s, instead of only on the 10 s read: a joiner's publish does not reach every node, and a node
 * that learnt of the joiner only through gossip listed it up to 10 s late (issue #20). An agent that
 * died before publishing stays in the peer store until its info expires (20 min): hence the slowdown.
 */
const catchUpRead = { firstMs: 1000, fastMaxMs: 4000, fastForMs: 60_000, slowMs: 30_000 };
/**
 * A conductor that could not start on the local mesh's new host is tried again after these waits
 * (the last one repeats): a node must not stay without a conductor until someone restarts it.
 */
export const hostMoveRetryMs = [1000, 5000, 15_000, 30_000];
/** How long a zome call waits for a move to a new host before it is answered "not ready". */
const hostMoveWaitMs = 60_000;

export class MeshSession extends EventEmitter {
  private p2p: P2pNode | undefined;
  private host: LocalMeshHost | undefined;
  private conductor: Conductor | undefined;
  private heartbeats: HeartbeatLoop | undefined;
  private readingLocal = false;
  private readingNetwork = false;
  private lastLocalReadMs = 0;
  /** Catch-up network reads (see catchUpRead): since when, the next one, the wait after it. */
  private catchUp = { sinceMs: 0, atMs: 0, waitMs: catchUpRead.firstMs };
  private timers: NodeJS.Timeout[] = [];
  private snapshot: (MeshView & { knownAgents: number }) | undefined;
  private lastView: PeerInfo[] = [];
  private agentPubKey: Uint8Array | undefined;
  private relayUrl: string | undefined;
  /** Set while the conductor is being moved to a new local-mesh host; zome calls wait for it. */
  private relayMove: Promise<void> | undefined;
  /** Conductor restarts on a new host so far (advertise() retries when one happened under it). */
  private relayMoves = 0;
  /** The newest host the local mesh announced: a move still retrying for an older one gives way. */
  private newestHostUrl: string | undefined;
  /** True from the start of a move until its conductor is ready (or the move gave way or stopped). */
  private moving = false;
  private stopping = false;
  /** Aborted by stop(): ends a move's wait before its next try. */
  private readonly stopped = new AbortController();
  private dialer: PeerDialer | undefined;
  /** Peers whose records were seen stamped beyond the clock skew: their heartbeats are distrusted a while. */
  private readonly clockMemory = new ClockAheadMemory();
  private readonly log: Logger;
  /** Zome calls go to whichever conductor is current (it is replaced when the relay moves). */
  readonly zomes: ZomeCaller = { callZome: async (req) => (await this.currentConductor()).callZome(req) };

  constructor(private readonly opts: MeshSessionOptions) {
    super();
    this.log = opts.log.child({ network: opts.choice.name });
  }

  get network(): string {
    return this.opts.choice.name;
  }

  /** How far ahead of this node's clock a record may be stamped and still count (networks.json). */
  get maxClockSkewMs(): number {
    return this.opts.choice.spec.max_clock_skew_ms;
  }

  /** The libp2p node, once started (jobs register their protocol on it). */
  get p2pNode(): P2pNode {
    if (!this.p2p) throw new Error("the mesh session has not started");
    return this.p2p;
  }

  /** This node's agent key in this mesh, once started. */
  get agentKey(): Uint8Array {
    if (!this.agentPubKey) throw new Error("the mesh session has not started");
    return this.agentPubKey;
  }

  async start(): Promise<void> {
    const { choice } = this.opts;
    this.log.info({ step: "p2p" }, "starting the libp2p node");
    this.p2p = await P2pNode.start({
      privateKey: this.opts.libp2pKey,
      listen: this.opts.p2pListen,
      mdnsServiceTag: choice.spec.mdns ? `ripple-mesh-${choice.name}` : null,
      log: this.log,
    });
    this.p2p.on("peer:refused", (e: { peerId: string; reason: string }) => this.emit("event", { type: "peer:refused", ...e }));
    this.p2p.on("peer:bound", (e: { agentPubKey: Uint8Array }) => this.readIfUnlisted(e.agentPubKey));
    this.dialer = new PeerDialer(this.p2p, this.log);

    this.relayUrl = await this.findRelay();
    await this.startConductor(this.relayUrl);

    await this.advertise();
    const registry = agentRegistry(this.zomes);

    this.heartbeats = new HeartbeatLoop({
      intervalMs: this.opts.heartbeatIntervalMs,
      publish: (hb) => registry.publishHeartbeat(hb),
      sampleLoad: this.opts.sampleLoad,
      activeJobs: this.opts.activeJobs,
      log: this.log,
    });
    await this.heartbeats.start();
    await this.readDht(true);
    void this.readDht(false);
    this.watch();
    this.timers = [
      setInterval(() => {
        const view = this.watch();
        if (Date.now() - this.lastLocalReadMs >= localReadEveryMs({ view, state: this.statusOf(view).state, boundAgents: this.boundAgents() })) void this.readDht(true);
      }, peerWatchIntervalMs),
      setInterval(() => void this.readDht(false), networkReadEveryMs),
    ];
  }

  /** Clean leave: an offline heartbeat, then everything stopped in reverse order. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    this.timers.forEach(clearInterval);
    this.host?.stopWatching();
    await this.heartbeats?.stop(true);
    // A move under way may still start a conductor: let it finish so that this stop reaches it.
    await this.relayMove;
    await this.conductor?.stop();
    await this.host?.stop();
    await this.p2p?.stop();
  }

  /** The relay: the network's configured server, or the local mesh's elected host. */
  private async findRelay(): Promise<string> {
    const { choice, toolchain } = this.opts;
    if (choice.relayUrl) {
      this.log.info({ step: "bootstrap", url: choice.bootstrapUrl }, "checking the network's bootstrap server");
      await assertBootstrapReachable(choice.bootstrapUrl!);
      return choice.relayUrl;
    }
    this.log.info({ step: "bootstrap" }, "looking for the local mesh's host (mDNS)");
    const logDir = join(this.opts.dataDir, choice.name, "logs");
    this.host = new LocalMeshHost({
      transport: this.p2p!,
      newServer: () =>
        new FilteredBootstrapServer({ binary: toolchain.path("kitsune2-bootstrap-srv"), listen: `${lanAddress()}:0`, logDir, log: this.log, deadAgents: () => (this.p2p ? disconnectedBoundAgents(this.p2p.boundPeers(), this.p2p.connectedPeers()) : []) }),
      log: this.log,
    });
    this.host.on("changed", (state: MeshHostState) => void this.moveRelay(state.url));
    return (await this.host.start()).url;
  }

  private async startConductor(relayUrl: string): Promise<void> {
    const { choice } = this.opts;
    this.log.info({ step: "conductor", relayUrl }, "starting the Holochain conductor");
    this.conductor = new Conductor({
      holochainBinary: this.opts.toolchain.path("holochain"),
      paths: nodePaths(join(this.opts.dataDir, choice.name)),
      bootstrapUrl: relayUrl,
      relayUrl,
      networkSeed: choice.spec.network_seed,
      happFile: this.opts.happFile,
      fastGossip: choice.spec.fast_gossip,
      localMesh: !choice.relayUrl,
      log: this.log,
    });
    await this.conductor.start();
  }

  /**
   * Publishes this node's capability and binds its libp2p key to it. The local mesh's host may leave
   * while a node starts (seen in `npm run chaos`): the conductor then restarts on the new host and a
   * call in flight on the old one fails ("client closed with pending requests"). Advertising again is
   * safe (the newest capability is the one read), so it is retried after the move, twice at most.
   */
  private async advertise(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const movesBefore = this.relayMoves;
      try {
        const conductor = await this.currentConductor();
        this.log.info({ step: "advertise", knownAgents: await otherAgentsInPeerStore(conductor).catch(() => -1) }, "publishing this node's capability");
        const registry = agentRegistry(this.zomes);
        this.agentPubKey = conductor.agentPubKey;
        await registry.publishCapability(await this.opts.draft(conductor.agentPubKey, this.p2p!.multiaddrs().slice(0, 16)));
        const own = await registry.getMyCapability();
        if (own) this.p2p!.setBinding({ agentPubKey: conductor.agentPubKey, agentSignature: own.capability.peer.agent_signature, peerSignature: own.capability.peer.peer_signature });
        return;
      } catch (err) {
        const moved = this.relayMoves !== movesBefore || this.relayMove !== undefined;
        if (!moved || attempt >= 3) throw err;
        this.log.warn({ err: (err as Error).message, attempt }, "the conductor moved to the local mesh's new host while this node advertised itself; advertising again");
        await this.relayMove;
      }
    }
  }

  /** Moves are queued: a second host change waits for the first move to finish (or give way). */
  private moveRelay(url: string): Promise<void> {
    this.newestHostUrl = url;
    const move = (this.relayMove ?? Promise.resolve()).then(() => this.restartOnRelay(url));
    this.relayMove = move;
    void move.finally(() => {
      if (this.relayMove === move) this.relayMove = undefined;
    });
    return move;
  }

  /**
   * The conductor reads its relay URL only at start, so a new host means a conductor restart. A
   * start that fails is cleaned up and tried again (hostMoveRetryMs) until it works, the node stops,
   * or the mesh announces yet another host (whose queued move then takes over).
   */
  private async restartOnRelay(url: string): Promise<void> {
    if (this.stopping || url === this.relayUrl) return;
    this.log.info({ from: this.relayUrl, to: url }, "the local mesh moved to another host; restarting the conductor on it");
    this.relayMoves++;
    this.relayUrl = url;
    this.moving = true;
    try {
      const old = this.conductor;
      this.conductor = undefined;
      await old?.stop();
      for (let attempt = 1; !this.stopping && this.newestHostUrl === url; attempt++) {
        try {
          await this.startConductor(url);
          this.emit("event", { type: "relay:changed", url });
          return;
        } catch (err) {
          const failed = this.conductor as Conductor | undefined; // set by startConductor before its start failed
          this.conductor = undefined;
          await failed?.stop().catch(() => {});
          const retryInMs = hostMoveRetryMs[Math.min(attempt, hostMoveRetryMs.length) - 1]!;
          this.log.error({ err, attempt, retryInMs }, "could not restart the conductor on the new host; trying again");
          await sleep(retryInMs, undefined, { signal: this.stopped.signal }).catch(() => {});
        }
      }
    } finally {
      this.moving = false;
    }
  }

  /**
   * The current conductor. While it moves to a new local-mesh host (the node that hosted the
   * mesh left) calls wait for the move, up to hostMoveWaitMs, instead of failing; a move that is
   * still trying after that is a 503.
   */
  private async currentConductor(): Promise<Conductor> {
    // During a move the new conductor object exists before it is ready, so wait on the move itself.
    if (this.relayMove) await Promise.race([this.relayMove, sleep(hostMoveWaitMs, undefined, { signal: this.stopped.signal, ref: false }).catch(() => {})]);
    return this.requireConductor();
  }

  private requireConductor(): Conductor {
    if (this.conductor && !this.moving) return this.conductor;
    throw new DaemonNotReadyError("the conductor is not running: it is restarting on the local mesh's new host, or that restart failed", "retry in a minute; if it persists, see the conductor log in DATA_DIR/<network>/logs/ and restart the node");
  }

  /** The peer view as of now: liveness is judged at read time, not when the DHT was last read. */
  peers(): PeerInfo[] {
    const snapshot = this.snapshot;
    if (!snapshot || !this.p2p || !this.agentPubKey) return [];
    const bound = new Map(this.p2p.boundPeers().map((p) => [p.peerId, p]));
    return buildPeerView({
      nodes: snapshot.nodes,
      heartbeats: snapshot.heartbeats,
      self: this.agentPubKey,
      p2pSeen: (peerId, agent) => {
        const peer = bound.get(peerId);
        return peer && sameBytes(peer.agentPubKey, agent) ? peer.lastSeenMs : undefined;
      },
      nowMs: Date.now(),
      livenessWindowMs: this.opts.livenessWindowMs,
      maxClockSkewMs: this.maxClockSkewMs,
      clockMemory: this.clockMemory,
    });
  }

  meshStatus(): MeshStatus {
    return this.statusOf(this.peers());
  }

  private statusOf(view: PeerInfo[]): MeshStatus {
    const others = view.filter((p) => !p.self);
    const knownAgents = this.snapshot?.knownAgents ?? 0;
    return { state: meshState(knownAgents, others.length), knownAgents, visibleNodes: others.length, onlineNodes: others.filter((p) => p.online).length };
  }

  describe() {
    return {
      network: this.opts.choice.name,
      networkSeed: this.opts.choice.spec.network_seed,
      relayUrl: this.relayUrl ?? null,
      localHost: this.host?.current ?? null,
      agentPubKey: this.agentPubKey ? encodeHashToBase64(this.agentPubKey) : null,
      peerId: this.p2p?.peerId ?? null,
      multiaddrs: this.p2p?.multiaddrs() ?? [],
      conductor: { pid: this.conductor?.pid ?? null, restarts: this.conductor?.restarts ?? 0 },
      /** The bootstrap/relay server's process when this node hosts it. */
      relayPid: this.host?.serverPid ?? null,
      livenessWindowMs: this.opts.livenessWindowMs,
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
      mesh: this.meshStatus(),
    };
  }

  /**
   * Read what the DHT says: from this node's own store every second (never waits on the network),
   * and from the network every `networkReadEveryMs` for what gossip has not brought yet. A dead peer
   * still in the peer store can make a network read wait out a timeout; it only delays that read.
   */
  private async readDht(localOnly: boolean): Promise<void> {
    const flag = localOnly ? "readingLocal" : "readingNetwork";
    if (this[flag] || !this.conductor || !this.agentPubKey) return;
    this[flag] = true;
    if (localOnly) this.lastLocalReadMs = Date.now();
    try {
      const since = (Date.now() - 10 * 60_000) * 1000;
      const [view, knownAgents] = await Promise.all([agentRegistry(this.zomes).getMeshView(since, localOnly), otherAgentsInPeerStore(this.conductor)]);
      this.snapshot = { ...mergeMeshViews(this.snapshot, view, { nowMs: Date.now(), maxSkewMs: this.maxClockSkewMs }), knownAgents };
    } catch (err) {
      this.log.debug({ err: (err as Error).message, localOnly }, "could not read the mesh from the DHT (conductor restarting?)");
    } finally {
      this[flag] = false;
    }
  }

  /** A network read now (backing off) while the peer store knows agents whose capability is not here. */
  private catchUpIfSyncing(view: PeerInfo[]): void {
    const now = Date.now();
    if (this.statusOf(view).state !== "syncing") {
      this.catchUp = { sinceMs: 0, atMs: 0, waitMs: catchUpRead.firstMs };
      return;
    }
    if (now < this.catchUp.atMs) return;
    if (this.catchUp.sinceMs === 0) {
      this.catchUp.sinceMs = now;
      this.log.info({ knownAgents: this.snapshot?.knownAgents }, "the peer store knows agents whose capability is not here yet; reading the network now");
    }
    const fast = now - this.catchUp.sinceMs < catchUpRead.fastForMs;
    const waitMs = fast ? this.catchUp.waitMs : catchUpRead.slowMs;
    this.catchUp = { ...this.catchUp, atMs: now + waitMs, waitMs: Math.min(catchUpRead.fastMaxMs, waitMs * 2) };
    void this.readDht(false);
  }

  /**
   * Every second: announce peers that joined, came online or went offline; read the network while
   * syncing; dial unconnected ones. Returns the view it judged.
   */
  private watch(): PeerInfo[] {
    const view = this.peers();
    this.announceChanges(view);
    this.lastView = view;
    this.catchUpIfSyncing(view);
    this.dialer?.dialUnconnected(view.filter((p) => !p.self));
    return view;
  }

  private boundAgents(): string[] {
    return this.p2p ? boundAgentKeys(this.p2p.boundPeers()) : [];
  }

  /**
   * A peer just proved over libp2p that it holds an agent key: when its capability is not in the view
   * yet (a node joining), read this node's store and the network now rather than at the next tick.
   */
  private readIfUnlisted(agentPubKey: Uint8Array): void {
    if (this.snapshot?.nodes.some((n) => sameBytes(n.author, agentPubKey))) return;
    void this.readDht(true);
    void this.readDht(false);
  }

  private announceChanges(view: PeerInfo[]): void {
    const before = new Map(this.lastView.map((p) => [p.agent, p]));
    for (const peer of view) {
      const old = before.get(peer.agent);
      if (!old) this.emit("event", { type: "peer:joined", peer });
      if (!old || old.online !== peer.online) {
        this.log.info({ peer: peer.name, agent: peer.agent, online: peer.online, reason: peer.reason }, peer.online ? "peer online" : "peer offline");
        this.emit("event", { type: peer.online ? "peer:online" : "peer:offline", peer });
      }
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
