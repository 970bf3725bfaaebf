// One mesh this node is in, with everything it runs there: the MeshSession (libp2p, relay,
// conductor, heartbeats, peer view), artifacts (kubo, direct transfers), mesh inference (worker,
// claimer, MOE), allocations and accounting, and this node's capability as advertised there.
// The daemon makes one per `ripple up` / `ripple join` and stops it before the next.
import type { EventEmitter } from "node:events";
import type { PrivateKey } from "@libp2p/interface";
import type { CapabilityView } from "@ripple-mesh/api-types";
import { agentRegistry } from "@ripple-mesh/zome-bindings";
import { MeshArtifacts } from "../artifacts/mesh-artifacts.ts";
import type { NodeFacts } from "../capability/node-facts.ts";
import { assertPinnedDnaHashes } from "../conductor/dna-pins.ts";
import { retryWhileHeadMoved } from "../conductor/serial-writes.ts";
import type { NetworkChoice } from "../config/network-choice.ts";
import { happFile } from "../config/paths.mjs";
import type { StoragePolicy } from "../config/storage-policy.ts";
import type { Toolchain } from "../config/toolchain.ts";
import { RippleError } from "../errors.ts";
import type { NodeInference } from "../inference/node-inference.ts";
import type { Logger } from "../log.ts";
import { Allocations } from "../mesh/allocations.ts";
import { capabilityView } from "../mesh/capability-view.ts";
import { MeshAccounting } from "../mesh/mesh-accounting.ts";
import { MeshSession } from "../mesh/mesh-session.ts";
import type { PeerInfo } from "../mesh/peer-view.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import { readTestLies } from "../worker/test-lies.ts";
import type { DaemonOptions } from "./daemon-options.ts";
import { MeshInference } from "./mesh-inference.ts";

export interface JoinedMeshOptions {
  choice: NetworkChoice;
  /** The daemon's settings this mesh uses (data dir, name, ports, overrides). */
  settings: DaemonOptions;
  toolchain: Toolchain;
  libp2pKey: PrivateKey;
  facts: NodeFacts;
  inference: NodeInference;
  storagePolicy: StoragePolicy;
  events: EventEmitter;
  metrics: NodeMetrics;
  /** The daemon's stop: a start under way gives up at its next step (its reason is what start throws). */
  stopAsked: AbortSignal;
  /** What stopping is doing now (named when a daemon's stop overruns its deadline). */
  onStopStep: (step: string) => void;
}

export class JoinedMesh {
  private session: MeshSession | undefined;
  private artifactsPart: MeshArtifacts | undefined;
  private inferencePart: MeshInference | undefined;
  /** This node's resource allocations in this mesh (GET/POST /v1/resources). */
  allocations: Allocations | undefined;
  /** Per-agent accounting totals in this mesh (GET /v1/accounting). */
  accounting: MeshAccounting | undefined;
  private stopped = false;

  constructor(private readonly opts: JoinedMeshOptions) {}

  get choice(): NetworkChoice {
    return this.opts.choice;
  }

  get meshSession(): MeshSession | undefined {
    return this.session;
  }

  get artifacts(): MeshArtifacts | undefined {
    return this.artifactsPart;
  }

  get meshInference(): MeshInference | undefined {
    return this.inferencePart;
  }

  /**
   * Starts the parts in order. A part is kept before its start, so that stop() during the start
   * stops it too (a conductor or kubo still coming up is killed rather than waited for).
   */
  async start(): Promise<void> {
    const { choice, settings, stopAsked } = this.opts;
    const { log, dataDir } = settings;
    log.info({ step: "dna-pins", network: choice.name }, "checking this build's DNA hashes against the network's pins");
    await assertPinnedDnaHashes(choice.name, happFile);
    stopAsked.throwIfAborted();
    const session = this.newSession();
    this.session = session;
    await session.start();
    stopAsked.throwIfAborted();
    const artifacts = this.newArtifacts(session);
    this.artifactsPart = artifacts;
    await artifacts.start();
    stopAsked.throwIfAborted();
    const jobHooks = artifacts.jobHooks();
    const meshInference = new MeshInference({
      dataDir,
      network: choice.name,
      p2p: session.p2pNode,
      zomes: session.zomes,
      agentPubKey: session.agentKey,
      peers: () => session.peers(),
      inference: this.opts.inference,
      log,
      emit: (event) => this.opts.events.emit("event", event),
      storeOutput: jobHooks.storeOutput,
      payloads: { store: jobHooks.storePayload, register: jobHooks.registerPayload },
      metrics: this.opts.metrics,
      maxClockSkewMs: session.maxClockSkewMs,
      // Allocations exist once the mesh inference has started (they share its resource_mesh writes).
      reserved: (peer, model) => this.allocations?.reserves(peer, model) ?? false,
      reservationsOfThisNode: () => this.allocations?.reservationsOfThisNode() ?? [],
    });
    try {
      await meshInference.start();
    } catch (err) {
      // Its result writers already run: they would retry against a mesh that is gone.
      await this.stopPart("mesh inference", () => meshInference.stop());
      throw err;
    }
    // Its claimer would run on after a stop() that came during its start.
    if (this.stopped) await this.stopPart("mesh inference", () => meshInference.stop());
    else this.inferencePart = meshInference;
    stopAsked.throwIfAborted();
    this.allocations = new Allocations({ zomes: meshInference.resourceMeshZomes, agentPubKey: session.agentKey, peers: () => this.peers(), log });
    this.accounting = new MeshAccounting({ zomes: meshInference.resourceMeshZomes, agentPubKey: session.agentKey, peers: () => this.peers(), pendingWrites: () => meshInference.pendingResultWrites });
    this.opts.events.emit("event", { type: "mesh:joined", network: choice.name });
  }

  private newSession(): MeshSession {
    const { choice, settings, facts } = this.opts;
    const session = new MeshSession({
      dataDir: settings.dataDir,
      choice,
      toolchain: this.opts.toolchain,
      happFile,
      libp2pKey: this.opts.libp2pKey,
      draft: (agent, multiaddrs) => this.capabilityDraft(agent, multiaddrs),
      sampleLoad: () => facts.sampleLoad(),
      activeJobs: () => this.inferencePart?.activeJobs ?? 0,
      p2pListen: [`/ip4/0.0.0.0/tcp/${settings.p2pPort ?? 0}`],
      livenessWindowMs: settings.livenessWindowMs ?? choice.spec.liveness_window_ms,
      heartbeatIntervalMs: settings.heartbeatIntervalMs ?? choice.spec.heartbeat_interval_ms,
      log: settings.log,
    });
    session.on("event", (event: object) => this.opts.events.emit("event", event));
    return session;
  }

  private newArtifacts(session: MeshSession): MeshArtifacts {
    const { choice, settings, inference } = this.opts;
    return new MeshArtifacts({
      dataDir: settings.dataDir,
      network: choice.name,
      ...(choice.name === "local" ? { privateSwarmSeed: choice.spec.network_seed } : {}),
      ipfsBinary: this.opts.toolchain.path("ipfs"),
      ...(settings.ipfsApiUrl ? { ipfsApiUrl: settings.ipfsApiUrl } : {}),
      ...(settings.ipfsSwarmPort !== undefined ? { swarmPort: settings.ipfsSwarmPort } : {}),
      policy: this.opts.storagePolicy,
      p2p: session.p2pNode,
      zomes: session.zomes,
      agentPubKey: session.agentKey,
      peers: () => session.peers(),
      store: inference.store,
      // A rehosted copy given back: said like any other change of this node's models.
      unregisterModel: async (name) => {
        await inference.unregisterModel(name);
        this.opts.events.emit("event", { type: "models:changed", added: [], removed: [name], changed: [] });
      },
      onModelsChanged: () => this.republishCapability(),
      emit: (event) => this.opts.events.emit("event", event),
      log: settings.log,
      metrics: this.opts.metrics,
      pins: (name) => inference.inferencePolicy.models[name]?.sha256,
      expertModels: () => inference.inferencePolicy.local_tier.experts.map((e) => e.model),
      maxClockSkewMs: session.maxClockSkewMs,
    });
  }

  /**
   * Stops what has started, last first; during start() too. Never throws: a part that fails to stop
   * is logged and the others are still stopped (a kubo or conductor left running would outlive the
   * mesh, and a switch must go on).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    const step = this.opts.onStopStep;
    this.allocations = undefined;
    this.accounting = undefined;
    const { inferencePart, artifactsPart, session } = this;
    this.inferencePart = undefined;
    this.artifactsPart = undefined;
    this.session = undefined;
    step("stopping mesh inference (workers, result writes)");
    if (inferencePart) await this.stopPart("mesh inference", () => inferencePart.stop());
    step("stopping artifacts (kubo)");
    if (artifactsPart) await this.stopPart("artifacts (kubo)", () => artifactsPart.stop());
    step("leaving the mesh (offline heartbeat, conductor, libp2p)");
    if (session) await this.stopPart("the mesh session (conductor, libp2p)", () => session.stop());
  }

  private async stopPart(what: string, stop: () => Promise<void>): Promise<void> {
    try {
      await stop();
    } catch (err) {
      this.opts.settings.log.error({ err, network: this.opts.choice.name }, `error while stopping ${what}`);
    }
  }

  /** The mesh's nodes, with what this node makes of their claims once it runs jobs there. */
  peers(): PeerInfo[] {
    const peers = this.session?.peers() ?? [];
    return this.inferencePart ? this.inferencePart.withTrust(peers) : peers;
  }

  /** This node's capability as advertised: its facts, and the models it serves (with CIDs once published). */
  private async capabilityDraft(agentPubKey: Uint8Array, multiaddrs: string[]) {
    const { settings, inference } = this.opts;
    const models = inference.modelRefs();
    const engine = inference.engine.describe();
    const draft = await this.opts.facts.draft({ name: settings.name, agentPubKey, multiaddrs, libp2pKey: this.opts.libp2pKey, models: this.artifactsPart?.withCids(models) ?? models, maxConcurrent: engine.maxConcurrent, serving: engine });
    // Test-only: a boastful peer (worker/test-lies.ts), published through this node's own conductor.
    const boast = readTestLies(settings.dataDir, process.env.RIPPLE_TEST_EXPERTS === "1").advertise_tokens_per_second;
    return boast === undefined ? draft : { ...draft, inference: { ...draft.inference, tokens_per_second: boast } };
  }

  /** Re-advertise this node's capability (a model got its IPFS CID); retried when it races a heartbeat. */
  async republishCapability(): Promise<void> {
    const session = this.session;
    if (!session) return;
    const draft = await this.capabilityDraft(session.agentKey, session.p2pNode.multiaddrs().slice(0, 16));
    await retryWhileHeadMoved(() => agentRegistry(session.zomes).publishCapability(draft));
  }

  /** Publishes this node's capability again now and returns it as the DHT holds it. */
  async publishCapability(): Promise<CapabilityView> {
    const session = this.session;
    if (!session) throw new RippleError("this node has left the mesh", "`ripple join NETWORK`, then try again");
    await this.republishCapability();
    const record = await agentRegistry(session.zomes).getMyCapability();
    if (!record) throw new RippleError("the capability just published cannot be read back from agent_registry", "retry; if it persists, see the conductor log in DATA_DIR/<network>/logs/");
    return capabilityView(record);
  }
}
