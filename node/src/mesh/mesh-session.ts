// One joined mesh: the libp2p node (mDNS only where the network uses it), the bootstrap/relay URL
// (elected among local nodes, or the network's configured server), the conductor on that mesh's
// DNAs, the advertised capability and its libp2p binding, heartbeats, and the peer view.
// The daemon starts one session per `ripple up`/`ripple join` and stops it before another.
import { EventEmitter } from "node:events";
import { join } from "node:path";
import { encodeHashToBase64 } from "@holochain/client";
import type { PrivateKey } from "@libp2p/interface";
import { agentRegistry, type CapabilityDraft, type Load, type MeshView, type ZomeCaller } from "@ripple-mesh/zome-bindings";
import { FilteredBootstrapServer } from "../bootstrap/filtered-bootstrap-server.ts";
import { assertBootstrapReachable } from "../bootstrap/bootstrap-probe.ts";
import { LocalMeshHost, type MeshHostState } from "../bootstrap/local-mesh-host.ts";
import { Conductor } from "../conductor/conductor.ts";
import { nodePaths } from "../config/node-paths.ts";
import { NodeStoppedError } from "../errors.ts";
import type { NetworkChoice } from "../config/network-choice.ts";
import type { Toolchain } from "../config/toolchain.ts";
import type { Logger } from "../log.ts";
import { P2pNode } from "../p2p/p2p-node.ts";
import { BindReadGate } from "./bind-read-gate.ts";
import { HeartbeatLoop } from "./heartbeat-loop.ts";
import { MovingConductor } from "./moving-conductor.ts";
import { meshState, otherAgentsInPeerStore, type MeshStatus } from "./mesh-status.ts";
import { boundAgentKeys, buildPeerView, disconnectedBoundAgents, ClockAheadMemory, forgetDeparted, mergeMeshViews, type PeerInfo } from "./peer-view.ts";
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
export class MeshSession extends EventEmitter {
  private p2p: P2pNode | undefined;
  private host: LocalMeshHost | undefined;
  /** Set by stop(): a start under way ends at its next step instead of starting more. */
  private stopRequested = false;
  /** The conductor, across moves of the local mesh's host. */
  private readonly conductor: MovingConductor;
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
  private dialer: PeerDialer | undefined;
  /** Peers whose records were seen stamped beyond the clock skew: their heartbeats are distrusted a while. */
  private readonly clockMemory = new ClockAheadMemory();
  /** Early DHT reads that peers' binds start, bounded (bind-read-gate.ts). */
  private readonly bindReads = new BindReadGate();
  private readonly log: Logger;
  /** Zome calls go to whichever conductor is current (it is replaced when the relay moves). */
  readonly zomes: ZomeCaller = { callZome: (req) => this.conductor.callZome(req) };

  constructor(private readonly opts: MeshSessionOptions) {
    super();
    this.log = opts.log.child({ network: opts.choice.name });
    this.conductor = new MovingConductor((relayUrl) => this.newConductor(relayUrl), this.log, (url) => this.emit("event", { type: "relay:changed", url }));
  }

  get network(): string {
    return this.opts.choice.name;
  }

  /** The network this session joined, with its bootstrap (a failed switch goes back to it). */
  get choice(): NetworkChoice {
    return this.opts.choice;
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

  /** This node's agent key in this mesh as base64 (the form events and views carry), once started; null before. */
  agentKeyB64: string | null = null;

  /** This node's agent key in this mesh, once started. */
  get agentKey(): Uint8Array {
    if (!this.agentPubKey) throw new Error("the mesh session has not started");
    return this.agentPubKey;
  }

  async start(): Promise<void> {
    const { choice } = this.opts;
    this.log.info({ step: "p2p" }, "starting the libp2p node");
    const p2p = await P2pNode.start({
      privateKey: this.opts.libp2pKey,
      listen: this.opts.p2pListen,
      mdnsServiceTag: choice.spec.mdns ? `ripple-mesh-${choice.name}` : null,
      log: this.log,
    });
    this.p2p = p2p;
    // A stop that came while libp2p started did not see it: stop it here.
    if (this.stopRequested) await p2p.stop();
    this.throwIfStopping();
    this.p2p.on("peer:refused", (e: { peerId: string; reason: string }) => this.emit("event", { type: "peer:refused", ...e }));
    this.p2p.on("peer:bound", (e: { agentPubKey: Uint8Array }) => this.readIfUnlisted(e.agentPubKey));
    this.dialer = new PeerDialer(this.p2p, this.log);

    const relayUrl = await this.findRelay();
    this.throwIfStopping();
    await this.conductor.start(relayUrl);
    this.throwIfStopping();
    await this.advertise();
    this.throwIfStopping();
    const registry = agentRegistry(this.zomes);

    this.heartbeats = new HeartbeatLoop({
      intervalMs: this.opts.heartbeatIntervalMs,
      publish: (hb) => registry.publishHeartbeat(hb),
      sampleLoad: this.opts.sampleLoad,
      activeJobs: this.opts.activeJobs,
      log: this.log,
    });
    await this.heartbeats.start();
    this.throwIfStopping();
    await this.readDht(true);
    this.throwIfStopping();
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
  /** Between start steps: a stop that came meanwhile ends the start (stop() stopped what was there). */
  private throwIfStopping(): void {
    if (this.stopRequested) throw new NodeStoppedError("the node left the mesh while it was joining", "join again when you want this node in the mesh");
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    this.conductor.haltMoves();
    this.timers.forEach(clearInterval);
    this.host?.stopWatching();
    await this.heartbeats?.stop(true);
    await this.conductor.stop();
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
    this.host.on("changed", (state: MeshHostState) => void this.conductor.moveTo(state.url));
    return (await this.host.start()).url;
  }

  private newConductor(relayUrl: string): Conductor {
    const { choice } = this.opts;
    this.log.info({ step: "conductor", relayUrl }, "starting the Holochain conductor");
    return new Conductor({
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
  }

  /**
   * Publishes this node's capability and binds its libp2p key to it. The local mesh's host may leave
   * while a node starts (seen in `npm run chaos`): the conductor then restarts on the new host and a
   * call in flight on the old one fails ("client closed with pending requests"). Advertising again is
   * safe (the newest capability is the one read), so it is retried after the move, twice at most.
   */
  private async advertise(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const movesBefore = this.conductor.moves;
      try {
        const conductor = await this.conductor.current();
        this.log.info({ step: "advertise", knownAgents: await otherAgentsInPeerStore(conductor).catch(() => -1) }, "publishing this node's capability");
        const registry = agentRegistry(this.zomes);
        this.agentPubKey = conductor.agentPubKey;
        this.agentKeyB64 = encodeHashToBase64(conductor.agentPubKey);
        await registry.publishCapability(await this.opts.draft(conductor.agentPubKey, this.p2p!.multiaddrs().slice(0, 16)));
        const own = await registry.getMyCapability();
        if (own) this.p2p!.setBinding({ agentPubKey: conductor.agentPubKey, agentSignature: own.capability.peer.agent_signature, peerSignature: own.capability.peer.peer_signature });
        return;
      } catch (err) {
        const moved = this.conductor.moves !== movesBefore || this.conductor.moving !== undefined;
        if (!moved || attempt >= 3) throw err;
        this.log.warn({ err: (err as Error).message, attempt }, "the conductor moved to the local mesh's new host while this node advertised itself; advertising again");
        await this.conductor.moving;
      }
    }
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
      relayUrl: this.conductor.relayUrl ?? null,
      localHost: this.host?.current ?? null,
      agentPubKey: this.agentPubKey ? encodeHashToBase64(this.agentPubKey) : null,
      peerId: this.p2p?.peerId ?? null,
      multiaddrs: this.p2p?.multiaddrs() ?? [],
      conductor: { pid: this.conductor.now?.pid ?? null, restarts: this.conductor.now?.restarts ?? 0 },
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
    const conductor = this.conductor.now;
    if (this[flag] || !conductor || !this.agentPubKey) return;
    this[flag] = true;
    if (localOnly) this.lastLocalReadMs = Date.now();
    try {
      const since = (Date.now() - 10 * 60_000) * 1000;
      const [view, knownAgents] = await Promise.all([agentRegistry(this.zomes).getMeshView(since, localOnly), otherAgentsInPeerStore(conductor)]);
      const merged = mergeMeshViews(this.snapshot, view, { nowMs: Date.now(), maxSkewMs: this.maxClockSkewMs });
      this.snapshot = { ...forgetDeparted(merged, view, since, this.alivePerOwnMeasure()), knownAgents };
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

  /** This node and the agents of peers connected and bound over libp2p now: never forgotten by the view. */
  private alivePerOwnMeasure(): string[] {
    const p2p = this.p2p;
    const self = this.agentPubKey ? [encodeHashToBase64(this.agentPubKey)] : [];
    if (!p2p) return self;
    const connected = new Set(p2p.connectedPeers());
    return [...self, ...boundAgentKeys(p2p.boundPeers().filter((p) => connected.has(p.peerId)))];
  }

  /**
   * A peer just proved over libp2p that it holds an agent key: when its capability is not in the view
   * yet (a node joining), read this node's store and the network now rather than at the next tick.
   */
  private readIfUnlisted(agentPubKey: Uint8Array): void {
    if (this.snapshot?.nodes.some((n) => sameBytes(n.author, agentPubKey))) return;
    // No budget is spent on a read that would not run (no conductor yet, or a read under way).
    if (!this.conductor.now || (this.readingLocal && this.readingNetwork)) return;
    if (!this.bindReads.allow(encodeHashToBase64(agentPubKey))) return;
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
