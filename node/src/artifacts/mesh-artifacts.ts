// IPFS within one joined mesh: this node's kubo (own, supervised, or an existing one by URL), the
// RPC seam, peering with the mesh's other kubo nodes, artifacts and model shards. Started by the
// daemon after the mesh session (it needs the libp2p node and the conductor), stopped before it.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ModelRef, ZomeCaller } from "@ripple-mesh/zome-bindings";
import type { ModelStore } from "../inference/model-store.ts";
import type { Logger } from "../log.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import type { PeerInfo } from "../mesh/peer-view.ts";
import type { P2pNode } from "../p2p/p2p-node.ts";
import { ArtifactService, sha256Hex, type ArtifactView } from "./artifact-service.ts";
import { ARTIFACT_INDEX_WRITES, serialWrites } from "../conductor/serial-writes.ts";
import { IpfsStore } from "./ipfs-store.ts";
import { KuboNode } from "./kubo-supervisor.ts";
import { NodeStoppedError } from "../errors.ts";
import { KuboPeering } from "./kubo-peering.ts";
import { DirectTransfer } from "./direct-transfer-protocol.ts";
import { ModelShards, type ModelPullEvent } from "./model-shards.ts";
import { wantedModels, type StoragePolicy } from "../config/storage-policy.ts";
import type { ModelPins } from "./model-choice.ts";
import { ModelRehosting } from "./model-rehosting.ts";
import { giveBackModel } from "./model-give-back.ts";

export interface MeshArtifactsOptions {
  dataDir: string;
  network: string;
  /** Makes the swarm private to this mesh (local network only). */
  privateSwarmSeed?: string;
  ipfsBinary: string;
  /** Use this kubo instead of starting one. */
  ipfsApiUrl?: string;
  policy: StoragePolicy;
  /** Overrides the policy's swarm port. */
  swarmPort?: number;
  p2p: P2pNode;
  zomes: ZomeCaller;
  agentPubKey: Uint8Array;
  peers: () => PeerInfo[];
  store: ModelStore;
  /** Unregister a model and free its loaded copy (a rehosted copy given back). */
  unregisterModel: (name: string) => Promise<void>;
  onModelsChanged: () => Promise<void>;
  /** Announces pulls' outcomes (model:pulled, model:pull-failed) on /v1/events and NATS. */
  emit?: (event: ModelPullEvent) => void;
  log: Logger;
  /** This node's metrics (model pulls count their bytes). */
  metrics?: NodeMetrics;
  /** sha256 pinned per model name (the inference policy's `models:`): a pull by name installs only that file. */
  pins?: ModelPins;
  /** The models the inference policy's experts run: wanted too when the storage policy's `want_experts` is on. */
  expertModels?: () => string[];
  /** Model registrations stamped further ahead of this node's clock are never the newest. */
  maxClockSkewMs?: number;
}

/** What the jobs seam asks of IPFS: large outputs and prompts as artifacts. */
export interface JobArtifacts {
  /** The CID to record instead of the inline output, or null to keep it inline. */
  storeOutput(o: { output: string; job: string; modelSha256: string; modelName?: string }): Promise<string | null>;
  /** The CID of a job payload too large to stay inline, or null. */
  storePayload(payload: string): Promise<string | null>;
  /** Register a stored payload once its job exists (its provenance names the job). */
  registerPayload(cid: string, payload: string, job: string): Promise<void>;
}

export class MeshArtifacts {
  kubo: KuboNode | undefined;
  ipfs: IpfsStore | undefined;
  peering: KuboPeering | undefined;
  artifacts: ArtifactService | undefined;
  shards: ModelShards | undefined;
  direct: DirectTransfer | undefined;
  rehosting: ModelRehosting | undefined;
  private readonly log: Logger;
  private wantTimer: NodeJS.Timeout | undefined;
  private firstWantCheck: NodeJS.Timeout | undefined;
  /** Aborted by stop(): a kubo still starting is stopped, and a start under way ends at its next step. */
  private readonly stopped = new AbortController();
  private wantRunning = false;

  get policy(): StoragePolicy {
    return this.opts.policy;
  }

  constructor(private readonly opts: MeshArtifactsOptions) {
    this.log = opts.log.child({ seam: "ipfs" });
  }

  async start(): Promise<void> {
    const { opts } = this;
    const networkDir = join(opts.dataDir, opts.network);
    mkdirSync(join(networkDir, "logs"), { recursive: true });
    this.log.info({ step: "ipfs", external: opts.ipfsApiUrl ?? null }, "starting IPFS (kubo)");
    const started = opts.ipfsApiUrl
      ? await KuboNode.external(opts.ipfsApiUrl, opts.log)
      : await KuboNode.start({
          ipfsBinary: opts.ipfsBinary,
          repoDir: join(networkDir, "ipfs"),
          logFile: join(networkDir, "logs", "kubo.log"),
          ...(opts.privateSwarmSeed ? { privateSwarmSeed: opts.privateSwarmSeed } : {}),
          swarmPort: opts.swarmPort ?? opts.policy.kubo.swarm_port,
          swarmBind: opts.policy.kubo.swarm_bind,
          log: opts.log,
          signal: this.stopped.signal,
        });
    this.kubo = started;
    // A stop that came while kubo started did not see it: stop it here.
    if (this.stopped.signal.aborted) await started.stop();
    this.throwIfStopping();
    const kubo = started;
    this.ipfs = new IpfsStore({ apiUrl: () => kubo.endpoints.apiUrl });
    this.peering = new KuboPeering({ p2p: opts.p2p, ipfs: this.ipfs, log: opts.log });
    await this.peering.start();
    // Each step: a stop that came meanwhile did not reach what the step started; stop it here.
    if (this.stopped.signal.aborted) this.peering.stop();
    this.throwIfStopping();
    kubo.on("restarted", () => this.peering?.rehelloAll());
    const zomes = serialWrites(opts.zomes, ARTIFACT_INDEX_WRITES);
    this.artifacts = new ArtifactService({ ipfs: this.ipfs, zomes, agentPubKey: opts.agentPubKey, p2p: opts.p2p, peers: opts.peers, policy: opts.policy, networkDir, log: opts.log });
    const directPolicy = opts.policy.models.direct_transfer;
    // Off: this node neither serves nor pulls directly (kubo only).
    if (directPolicy.enabled) {
      this.direct = new DirectTransfer({
        p2p: opts.p2p,
        fileOf: (cid) => this.shards?.localFile(cid),
        // Where kubo's swarm listens: peers on other machines ("lan") or this one only.
        host: opts.policy.kubo.swarm_bind === "lan" ? "0.0.0.0" : "127.0.0.1",
        port: directPolicy.port,
        connectionsPerProvider: directPolicy.connections_per_provider,
        stallTimeoutMs: opts.policy.models.stall_timeout_ms,
        log: opts.log,
      });
      await this.direct.start();
      if (this.stopped.signal.aborted) await this.direct.stop();
      this.throwIfStopping();
    }
    this.shards = new ModelShards({
      ipfs: this.ipfs,
      kubo,
      peering: this.peering,
      artifacts: this.artifacts,
      store: opts.store,
      policy: opts.policy,
      networkDir,
      log: opts.log,
      ...(this.direct ? { direct: this.direct } : {}),
      onModelsChanged: opts.onModelsChanged,
      ...(opts.emit ? { emit: opts.emit } : {}),
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      ...(opts.pins ? { pins: opts.pins } : {}),
      ...(opts.maxClockSkewMs !== undefined ? { maxClockSkewMs: opts.maxClockSkewMs } : {}),
    });
    this.startWanted();
    const shards = this.shards;
    const artifacts = this.artifacts;
    const ipfs = this.ipfs;
    this.rehosting = new ModelRehosting({
      shards,
      verifiedProviders: (cid) => artifacts.providers(cid, { verify: true, signal: this.stopped.signal }),
      store: opts.store,
      policy: opts.policy.replication.rehost,
      self: artifacts.agent,
      peers: opts.peers,
      ledgerFile: join(networkDir, "rehosted.json"),
      wanted: (name) => this.wantedNow().includes(name),
      giveBack: (m) => giveBackModel({ store: opts.store, ipfs, unregister: opts.unregisterModel, onModelsChanged: opts.onModelsChanged, log: this.log }, m.name, m.cid),
      log: this.log,
    });
    this.rehosting.start();
  }

  /** What the storage policy wants here (want, and with want_experts the experts' pinned models). */
  private wantedNow(): string[] {
    return wantedModels(this.opts.policy, this.opts.expertModels?.() ?? [], this.opts.pins ?? (() => undefined));
  }

  /**
   * Models the policy wants and this node lacks: pulled from verified providers, one at a time,
   * retried at every check until they arrive (a model nobody publishes yet is simply not there).
   */
  private startWanted(): void {
    const want = this.wantedNow();
    if (want.length === 0) return;
    const check = async () => {
      if (this.wantRunning) return;
      this.wantRunning = true;
      try {
        for (const name of want) {
          if (this.opts.store.has(name) || !this.shards) continue;
          try {
            await this.shards.resolve(name);
          } catch {
            continue; // not published on the mesh (yet)
          }
          this.log.info({ model: name }, "the storage policy wants this model and this node lacks it; pulling it from peers");
          await this.shards.pull(name).catch((err: Error) => this.log.warn({ model: name, err: err.message }, "could not pull a wanted model; retrying at the next check"));
        }
      } finally {
        this.wantRunning = false;
      }
    };
    this.wantTimer = setInterval(() => void check(), this.opts.policy.models.want_check_interval_ms);
    this.wantTimer.unref();
    this.firstWantCheck = setTimeout(() => void check(), 2000);
    this.firstWantCheck.unref();
  }

  /** Between start steps: a stop that came meanwhile ends the start. */
  private throwIfStopping(): void {
    if (this.stopped.signal.aborted) throw new NodeStoppedError("IPFS was stopped while it was starting", "start the node again when you want it running");
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    this.rehosting?.stop();
    clearInterval(this.wantTimer);
    clearTimeout(this.firstWantCheck);
    this.peering?.stop();
    await this.direct?.stop();
    await this.kubo?.stop();
  }

  /** The capability's model list with the CIDs this node published or pulled. */
  withCids(refs: ModelRef[]): ModelRef[] {
    const shards = this.shards;
    if (!shards) return refs;
    return refs.map((r) => ({ ...r, cid: shards.cidOf(r.name, r.sha256) ?? r.cid }));
  }

  async describe(): Promise<Record<string, unknown>> {
    const kubo = this.kubo;
    if (!kubo || !this.ipfs) return { running: false };
    const [id, peers, repo] = await Promise.all([
      this.ipfs.id({ timeoutMs: 3000 }).catch(() => null),
      this.ipfs.connectedPeers({ timeoutMs: 3000 }).catch(() => [] as string[]),
      this.ipfs.repoStat({ timeoutMs: 3000 }).catch(() => null),
    ]);
    return {
      running: kubo.up,
      external: !kubo.supervised,
      pid: kubo.pid,
      restarts: kubo.restarts,
      apiUrl: kubo.endpoints.apiUrl,
      gatewayUrl: kubo.endpoints.gatewayUrl,
      peerId: id?.peerId ?? null,
      swarmAddrs: id?.addrs ?? [],
      connectedPeers: peers.length,
      repoBytes: repo?.repoSize ?? null,
      cacheBytes: this.artifacts?.cache.totalBytes ?? 0,
      cacheMaxBytes: this.opts.policy.cache.max_size_gb * 1e9,
      directTransfer: this.direct?.describe() ?? null,
      rehosting: this.rehosting?.describe() ?? null,
    };
  }

  /** Hooks for the jobs seam, or undefined before start. */
  jobHooks(): JobArtifacts {
    const policy = this.opts.policy.artifacts;
    return {
      storeOutput: async ({ output, job, modelSha256, modelName }) => {
        const bytes = Buffer.from(output, "utf8");
        if (bytes.length <= policy.inline_output_max_bytes || !this.artifacts) return null;
        const a: ArtifactView = await this.artifacts.put(bytes, { name: `output of ${modelName ?? modelSha256.slice(0, 12)} for job ${job.slice(0, 16)}`, kind: "output", mime: "text/plain; charset=utf-8", job, model: modelSha256 });
        return a.cid;
      },
      storePayload: async (payload) => {
        const bytes = Buffer.from(payload, "utf8");
        if (bytes.length <= policy.inline_prompt_max_bytes || !this.ipfs) return null;
        return (await this.ipfs.addBytes(bytes, { pin: true })).cid;
      },
      registerPayload: async (cid, payload, job) => {
        const bytes = Buffer.from(payload, "utf8");
        await this.artifacts?.register({ cid, size: bytes.length, sha256: sha256Hex(bytes), name: `prompt of job ${job.slice(0, 16)}`, kind: "prompt", mime: "application/json", job });
      },
    };
  }
}
