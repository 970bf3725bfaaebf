// The one lifecycle owner. Node level: data directory, local API, NATS, the start-up probe, the
// inference engine, libp2p identity. Mesh level: one JoinedMesh (joined-mesh.ts) at a time. `join`
// leaves the current mesh cleanly and joins another without restarting the process; a join that
// fails goes back to the mesh the node was on, or leaves the node up in none (phase offline).
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { join as joinPath } from "node:path";
import { happFile, repoRoot } from "../config/paths.mjs";
import { startLocalApi, type LocalApi } from "../api/local-api.ts";
import { mcpHttpRoutes } from "../mcp/mcp-http.ts";
import { packageVersion } from "../config/package-version.ts";
import { removeApiDescriptor, writeApiDescriptor } from "../api/api-descriptor.ts";
import { assertPinnedDnaHashes } from "../conductor/dna-pins.ts";
import { ensureWritableDataDir } from "../config/data-dir.ts";
import { writePreferences } from "../config/node-preferences.ts";
import { chooseNetwork, type NetworkChoice } from "../config/network-choice.ts";
import { nodePaths } from "../config/node-paths.ts";
import { checkToolchain, type Toolchain } from "../config/toolchain.ts";
import { RippleError } from "../errors.ts";
import { loadOrCreateLibp2pKey } from "../identity/libp2p-key.ts";
import type { PrivateKey } from "@libp2p/interface";
import type { DaemonPhase, DaemonStatus, Policies } from "@ripple-mesh/api-types";
import { AlreadyRunningError, assertNoDaemonRunning, type DaemonOptions } from "./daemon-options.ts";
import type { PeerInfo } from "../mesh/peer-view.ts";
import { meshWithoutSession } from "../mesh/mesh-status.ts";
import { NodeFacts } from "../capability/node-facts.ts";
import { runStartProbe } from "../capability/start-probe.ts";
import type { InferenceSource } from "../api/inference-source.ts";
import { DaemonNotReadyError, NodeStoppedError } from "../errors.ts";
import { NodeInference } from "../inference/node-inference.ts";
import { LazyLlama } from "../inference/lazy-llama.ts";
import { JoinedMesh } from "./joined-mesh.ts";
import { MeshSlot } from "./mesh-slot.ts";
import { daemonInferenceSource, policiesOf } from "./daemon-inference.ts";
import { loadStoragePolicy, storagePolicyFileFor, type StoragePolicy } from "../config/storage-policy.ts";
import { MoeHistory } from "../moe/moe-history.ts";
import { historyFileIn } from "../moe/moe-history-file.ts";
import { NatsBus } from "../nats/nats-bus.ts";
import type { CapabilityView } from "@ripple-mesh/api-types";
import { NodeMetrics, type ScrapeFigures } from "../metrics/node-metrics.ts";
import { nodeMemory } from "./node-memory.ts";
import { ServedSlots, servedSlotsFileIn } from "../worker/served-slots.ts";
import { NativeHeapTrimmer } from "../supervisor/native-heap-trim.ts";
import { logDroppedRecords } from "./dropped-records-log.ts";

export type { DaemonPhase, DaemonStatus, DaemonOptions };
export { AlreadyRunningError };

export class Daemon {
  readonly events = new EventEmitter();
  /** This node's Prometheus metrics (GET /metrics); one registry per daemon. */
  private readonly metrics = new NodeMetrics();
  /** This node's recent MOE runs (the web UI's Jobs page), kept across restarts; every moe() of the API goes through it. */
  private readonly history: MoeHistory;
  /** Slots this node's worker served for other nodes' jobs (the web UI's Jobs page), from the worker's events. */
  private readonly served: ServedSlots;
  private api: LocalApi | undefined;
  /** The mesh this node is in (with all it runs there), or none while starting, switching or offline. */
  private readonly meshes: MeshSlot;
  private toolchain: Toolchain | undefined;
  private facts: NodeFacts | undefined;
  private inference: NodeInference | undefined;
  private natsBus: NatsBus | undefined;
  private storagePolicy: StoragePolicy | undefined;
  private libp2pKey: PrivateKey | undefined;
  private phase: DaemonPhase = "starting";
  private heapTrim: NativeHeapTrimmer | undefined;
  /**
   * Aborted by stop(). A start or a mesh switch under way gives up at its next step instead of
   * starting more (a conductor or kubo started after the stop would outlive the daemon), and the
   * start-up probe's child ends at once (it can take minutes); stop() waits for the start before
   * stopping what it started.
   */
  private readonly stopAsked = new AbortController();
  private starting: Promise<unknown> | undefined;
  private stopping: Promise<void> | undefined;
  /** What stop() is doing now: named in the error when a stop overruns its deadline (cli/commands/up.ts). */
  stopStep = "not stopping";
  private readonly startedAt = Date.now();
  /** Called when the API asks the node to shut down (main exits the process). */
  onShutdownRequest: () => void = () => {};

  constructor(private readonly opts: DaemonOptions) {
    this.metrics.readFrom(() => this.metricsFigures());
    this.history = new MoeHistory({ emit: (event) => this.events.emit("event", event), metrics: this.metrics, persist: { file: historyFileIn(opts.dataDir), log: opts.log } });
    this.served = new ServedSlots({ isSelf: (agent) => agent === this.mesh?.meshSession?.agentKeyB64, persist: { file: servedSlotsFileIn(opts.dataDir), log: opts.log } });
    this.events.on("event", (e: { type: string; [k: string]: unknown }) => this.served.observe(e));
    this.meshes = new MeshSlot({ newMesh: (choice) => this.newMesh(choice), stopAsked: this.stopAsked.signal, log: opts.log });
  }

  /** The mesh this node is in, if any. */
  private get mesh(): JoinedMesh | undefined {
    return this.meshes.current;
  }

  start(): Promise<DaemonStatus> {
    return this.whileStarting(this.startSteps());
  }

  /** Remembers a start or switch while it is under way, for stop() to interrupt and wait on. */
  private whileStarting<T>(run: Promise<T>): Promise<T> {
    const settled: Promise<void> = run
      .then(
        () => {},
        () => {},
      )
      .finally(() => {
        if (this.starting === settled) this.starting = undefined;
      });
    this.starting = settled;
    return run;
  }

  /** Between the steps of a start: a stop asked for meanwhile ends the start here. */
  private throwIfStopping(): void {
    if (this.stopAsked.signal.aborted) throw nodeStoppedDuringStart();
  }

  private async startSteps(): Promise<DaemonStatus> {
    const { log, dataDir } = this.opts;
    ensureWritableDataDir(dataDir);
    await assertNoDaemonRunning(dataDir);
    logDroppedRecords(log);
    // Validate the network choice before anything starts, so a typo fails in milliseconds.
    const choice = chooseNetwork(this.opts.network ?? "local", { bootstrapUrl: this.opts.bootstrapUrl });
    this.storagePolicy = loadStoragePolicy(storagePolicyFileFor(dataDir, this.opts.storagePolicyFile));
    await this.startApi();
    this.throwIfStopping();
    // Before the mesh: the bus sees every event from the first peer on.
    if (this.opts.nats) {
      this.natsBus = await NatsBus.start({ settings: this.opts.nats, dataDir, name: this.opts.name, network: choice.name, events: this.events, inference: this.inferenceSource(), log });
      this.throwIfStopping();
    }

    log.info({ step: "toolchain" }, "checking the pinned toolchain");
    this.toolchain = await checkToolchain(this.opts.binDir ? { binDir: this.opts.binDir } : {});
    this.throwIfStopping();
    if (!existsSync(happFile)) throw new RippleError(`${happFile} does not exist`, "run `npm run setup` to build it");
    this.inference = await NodeInference.start({
      dataDir,
      log,
      metrics: this.metrics,
      ...(this.opts.computePolicyFile ? { computePolicyFile: this.opts.computePolicyFile } : {}),
      ...(this.opts.inferencePolicyFile ? { inferencePolicyFile: this.opts.inferencePolicyFile } : {}),
      // The probe opens the backend the policy asks for and times it, in a child process (start-probe.ts):
      // the advertised GPU and tokens/s are those of the backend that serves, and this process loads
      // node-llama-cpp only when a model first loads.
      chooseBackend: async (gpu, threads) => {
        const probed = await runStartProbe({ dataDir, gpu, threads, measureTokens: (this.opts.measureTokens ?? true) ? 32 : 0, log, signal: this.stopAsked.signal });
        this.facts = new NodeFacts(probed.facts);
        return LazyLlama.forChoice(probed.choice, threads);
      },
    });
    this.throwIfStopping();
    // The peer id survives restarts and network switches, like the agent key.
    this.libp2pKey = await loadOrCreateLibp2pKey(nodePaths(dataDir).libp2pKey);
    await this.meshes.join(choice);
    this.throwIfStopping();
    this.phase = "running";
    // After start-up, which frees most of what glibc would otherwise keep (native-heap-trim.ts).
    this.heapTrim = NativeHeapTrimmer.start({ intervalMs: this.opts.heapTrimIntervalMs ?? 15_000, log });
    return this.status();
  }

  /** Leave the current mesh (announcing it) and join another. */
  async join(network: string, bootstrapUrl?: string): Promise<DaemonStatus> {
    const choice = chooseNetwork(network, { bootstrapUrl });
    this.assertCanSwitch();
    // A build that cannot join that network fails here, before this node leaves the one it is on.
    await assertPinnedDnaHashes(choice.name, happFile);
    this.assertCanSwitch();
    this.phase = "switching";
    await this.whileStarting(this.switchMesh(choice));
    // Remembered here, once the node got there, for every door (CLI, MCP, HTTP): a failed join
    // leaves the next `ripple up` where it was, and a client that gave up waiting loses nothing.
    try {
      writePreferences(this.opts.dataDir, { network: choice.name, ...(bootstrapUrl ? { bootstrapUrl } : {}) });
    } catch (err) {
      this.opts.log.warn({ err, network: choice.name }, "joined, but could not save the network for the next `ripple up`: run `ripple join` again once the data directory is writable");
    }
    return this.status();
  }

  /** Why a call that needs the mesh cannot run now, and what makes it possible. */
  private notInAMesh(): DaemonNotReadyError {
    if (this.phase === "offline") return new DaemonNotReadyError(`the node is in no mesh (${this.meshes.offline?.reason ?? "a mesh switch failed"})`, "`ripple join NETWORK` puts it in one");
    return new DaemonNotReadyError(`the node is ${this.phase} and not in a mesh`, "wait until `ripple status` says running");
  }

  /** A node joins another mesh from a mesh (running) or from none (offline), never mid-start or mid-switch. */
  private assertCanSwitch(): void {
    if (this.phase !== "running" && this.phase !== "offline") throw new RippleError(`the node is ${this.phase}`, "wait until it is running, then try again");
  }

  private async switchMesh(choice: NetworkChoice): Promise<void> {
    try {
      await this.meshes.switchTo(choice);
    } finally {
      if (!this.stopAsked.signal.aborted) this.phase = this.meshes.offline ? "offline" : "running";
    }
  }

  private newMesh(choice: NetworkChoice): JoinedMesh {
    return new JoinedMesh({
      choice,
      settings: this.opts,
      toolchain: this.toolchain!,
      libp2pKey: this.libp2pKey!,
      facts: this.facts!,
      inference: this.inference!,
      storagePolicy: this.storagePolicy!,
      events: this.events,
      metrics: this.metrics,
      stopAsked: this.stopAsked.signal,
      onStopStep: (step) => (this.stopStep = step),
    });
  }

  /** What the inference routes of the local API call. */
  private inferenceSource(): InferenceSource {
    return daemonInferenceSource({
      history: this.history,
      metrics: this.metrics,
      events: this.events,
      log: this.opts.log,
      node: () => this.requireInference(),
      started: () => this.inference,
      mesh: () => this.mesh,
      notInAMesh: () => this.notInAMesh(),
      peers: () => this.peers(),
    });
  }

  private async startApi(): Promise<void> {
    const { log, dataDir } = this.opts;
    this.api = await startLocalApi({
      ...(this.opts.apiHost ? { host: this.opts.apiHost } : {}),
      port: this.opts.apiPort ?? 0,
      ...(this.opts.apiToken ? { token: this.opts.apiToken } : {}),
      log,
      source: {
        status: () => this.status(),
        peers: async () => this.peersForApi(),
        shutdown: async () => this.onShutdownRequest(),
        join: (req: { network: string; bootstrapUrl?: string }) => this.join(req.network, req.bootstrapUrl),
        events: this.events,
        inference: this.inferenceSource(),
        artifacts: () => this.mesh?.artifacts,
        jobs: { list: () => this.history.list(), get: (trace) => this.history.get(trace), served: () => this.served.list((agent) => this.peers().find((p) => p.agent === agent)?.name ?? null) },
        policies: async () => this.policies(),
        resources: () => this.mesh?.allocations,
        accounting: () => this.mesh?.accounting,
        publishCapability: () => this.publishCapability(),
        metrics: async () => ({ contentType: this.metrics.contentType, text: await this.metrics.text() }),
      },
      uiDir: joinPath(repoRoot, "ui", "dist"),
      // MCP over HTTP at /mcp: the same tools as `ripple mcp`, reaching this node through its api.json.
      routes: [mcpHttpRoutes({ dataDir, version: packageVersion(), log: log.child({ door: "mcp" }) })],
    });
    await writeApiDescriptor(dataDir, { url: this.api.url, ...(this.opts.apiToken ? { token: this.opts.apiToken } : {}) });
  }

  /** The compute and inference policies in force (the web UI's Node page). */
  policies(): Policies {
    return policiesOf(this.requireInference());
  }

  private requireInference(): NodeInference {
    if (!this.inference) throw new DaemonNotReadyError("the node is still starting", "wait until `ripple status` says running");
    return this.inference;
  }

  /** Publishes this node's capability again now (`holochain.register_node`) and returns it as the DHT holds it. */
  async publishCapability(): Promise<CapabilityView> {
    const mesh = this.mesh;
    if (!mesh || this.phase !== "running") throw this.notInAMesh();
    return mesh.publishCapability();
  }

  /** The mesh's nodes, with what this node makes of their claims once it runs jobs there. */
  /**
   * The peer view for API clients: while the node stops, its mesh is being left and the view torn
   * down, so say that (503) rather than answer with an empty mesh (a UI keeps the last view it had).
   */
  private peersForApi(): PeerInfo[] {
    if (this.phase === "stopping") throw new DaemonNotReadyError("the node is stopping: its peer view is being torn down", "start it again with `ripple up` when you want it running");
    return this.peers();
  }

  peers(): PeerInfo[] {
    return this.mesh?.peers() ?? [];
  }

  /** What GET /metrics reads at scrape time: the engine's queue, the peer view, restarts. */
  private metricsFigures(): ScrapeFigures {
    const engine = this.inference?.engine.queueState();
    const session = this.mesh?.meshSession?.describe();
    return {
      engineRunning: engine?.running,
      engineQueued: engine?.queued,
      peersOnline: session?.mesh.onlineNodes,
      peersKnown: session?.mesh.visibleNodes,
      conductorRestarts: session?.conductor.restarts,
      kuboRestarts: this.mesh?.artifacts?.kubo?.restarts,
    };
  }

  async status(): Promise<DaemonStatus> {
    const session = this.mesh?.meshSession?.describe();
    return {
      name: this.opts.name,
      phase: this.phase,
      ...(this.phase === "offline" && this.meshes.offline ? { offline: { message: this.meshes.offline.reason, fix: this.meshes.offline.fix } } : {}),
      pid: process.pid,
      dataDir: this.opts.dataDir,
      api: this.api?.url ?? null,
      uptimeMs: Date.now() - this.startedAt,
      hardwareClass: this.facts?.hardwareClass ?? null,
      tokensPerSecond: this.facts?.tokensPerSecond ?? null,
      network: session?.network ?? this.mesh?.choice.name ?? this.meshes.lastJoined ?? this.opts.network ?? "local",
      agentPubKey: session?.agentPubKey ?? null,
      peerId: session?.peerId ?? null,
      multiaddrs: session?.multiaddrs ?? [],
      relayUrl: session?.relayUrl ?? null,
      localHost: session?.localHost ?? null,
      conductor: session?.conductor ?? null,
      livenessWindowMs: session?.livenessWindowMs ?? null,
      mesh: session?.mesh ?? meshWithoutSession(this.phase),
      inference: this.inference?.engine.describe() ?? null,
      memory: nodeMemory({ conductorPid: session?.conductor.pid, kuboPid: this.mesh?.artifacts?.kubo?.pid, relayPid: session?.relayPid, loadedModels: this.inference?.engine.loaded() ?? [], nativeHeapTrim: this.heapTrim?.state() ?? null }),
      ...(this.opts.nats ? { nats: this.natsBus?.connectedUrl ?? null } : {}),
    };
  }

  /** Stops everything this node started; a second call waits for the first. */
  stop(): Promise<void> {
    this.stopping ??= this.stopSteps();
    return this.stopping;
  }

  private async stopSteps(): Promise<void> {
    this.phase = "stopping";
    this.stopAsked.abort(nodeStoppedDuringStart());
    if (this.starting) {
      // A start (or mesh switch) under way: its probe child is killed, and what it has started so far
      // is stopped now (a conductor or kubo still coming up is killed rather than waited for), while
      // the start ends at its next step. What that step started is stopped by the meshes.leave() below.
      this.stopStep = "interrupting the start under way";
      const interrupt = this.meshes.leave();
      await this.starting;
      await interrupt;
    }
    this.heapTrim?.stop();
    // First: running NATS submissions are answered (with an error) while the mesh is still there.
    this.stopStep = "closing the NATS event bus";
    await this.natsBus?.stop().catch((err) => this.opts.log.error({ err }, "error while closing the NATS event bus"));
    await this.meshes.leave();
    this.stopStep = "closing the local API";
    await this.api?.close();
    this.stopStep = "disposing of the inference engine";
    await this.inference?.dispose();
    if (this.api) await removeApiDescriptor(this.opts.dataDir);
    this.stopStep = "stopped";
    this.phase = "stopped";
  }
}

function nodeStoppedDuringStart(): NodeStoppedError {
  return new NodeStoppedError("the node was stopped while it was starting", "start it again with `ripple up` when you want it running");
}
