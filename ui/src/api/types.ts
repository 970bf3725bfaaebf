// The shapes the UI reads from the daemon's local API. They mirror the daemon's own types
// (node/src/daemon.ts DaemonStatus, node/src/mesh/peer-view.ts PeerInfo, node/src/moe/moe-types.ts,
// node/src/moe/moe-history.ts); node/test/ui-api-types.test.ts checks at compile time that the
// daemon's types still fit these, so a change there fails `tsc` instead of the UI at run time.
// Only type declarations here: this file is imported by the daemon's type check too.

export interface PeerInfo {
  agent: string;
  name: string;
  self: boolean;
  online: boolean;
  reason: string;
  peerId: string;
  multiaddrs: string[];
  hardwareClass: string;
  cpuCores: number;
  cpuArch: string;
  ramGb: number;
  gpu: { vendor: string; model: string; vram_gb: number } | null;
  models: string[];
  /** Advertised decode tokens/s: a claim. */
  tokensPerSecond: number;
  load: { cpu_percent: number; gpu_percent: number; memory_percent: number };
  activeJobs: number;
  lastHeartbeatMs: number | null;
  lastP2pMs: number | null;
  lastHeardMs: number | null;
  /** What the node makes of the peer's claims (absent until it runs jobs on the mesh). */
  trust?: PeerTrust;
}

export interface PeerTrust {
  advertisedTokensPerSecond: number;
  classCeiling: number;
  boundedTokensPerSecond: number;
  observed: {
    jobs: number;
    failures: number;
    stalls: number;
    badAnswers: number;
    reliability: number;
    models: Array<{ model: string; tokensPerSecond: number; ttftMs: number; samples: number }>;
  } | null;
  sharesPeerIdWith: string[];
}

export type DaemonPhase = "starting" | "running" | "switching" | "stopping" | "stopped";
export type MeshState = "connected" | "syncing" | "isolated";

export interface DaemonStatus {
  name: string;
  phase: DaemonPhase;
  pid: number;
  dataDir: string;
  api: string | null;
  uptimeMs: number;
  hardwareClass: string | null;
  tokensPerSecond: number | null;
  network: string;
  agentPubKey: string | null;
  peerId: string | null;
  multiaddrs: string[];
  relayUrl: string | null;
  localHost: { url: string; hostPeerId: string; self: boolean } | null;
  conductor: { pid: number | null; restarts: number } | null;
  livenessWindowMs: number | null;
  mesh: { state: MeshState; knownAgents: number; visibleNodes: number; onlineNodes: number };
  inference: InferenceStatus | null;
}

export interface LocalModel {
  name: string;
  sha256: string;
  bytes: number;
  file: string;
  loaded: boolean;
}

/** A peer that says (in artifact_index) it pins a CID; `verified` is null unless a check was asked for. */
export interface ProviderView {
  agent: string;
  name: string | null;
  peerId: string | null;
  online: boolean;
  self: boolean;
  verified: boolean | null;
  reason: string | null;
}

/** One model registered in IPFS (GET /v1/shards): its CID, who pins it, and its replica count. */
export interface IpfsShard {
  name: string;
  cid: string;
  sha256: string;
  size: number;
  publishedBy: string[];
  providers: ProviderView[];
  replicas: number;
  minProviders: number;
  underReplicated: boolean;
  /** This node pins it. */
  local: boolean;
}

export interface ModelVote {
  model: string;
  expert: string;
  peer: string;
  response_hash: string;
  weight: number;
  /** The weight the vote counted (absent in records from before it existed). */
  counted_weight?: number;
  peer_id?: string | null;
  latency_ms: number;
  agreed: boolean;
  slot: number;
  epoch: number;
  tokens: number;
  output: string;
}

export interface MoeResult {
  response: string;
  consensus_score: number;
  consensus_reached: boolean;
  model_votes: ModelVote[];
  trace_id: string;
  task_type: string;
  job: string | null;
  wall_ms: number;
  failed_slots: Array<{ slot: number; expert: string; error: string }>;
  diversity?: "ok" | "insufficient" | "local";
  rejected_answers?: Array<{ slot: number; epoch: number; peer: string; reason: string }>;
  cancelled_slots?: Array<{ slot: number; expert: string; peer: string }>;
  stopped_early?: boolean;
}

export interface AskResult {
  text: string;
  model: string;
  peer: string;
  tokens: number;
  promptTokens: number;
  latencyMs: number;
  finishReason: string;
  traceId: string;
}

export type MoeEvent =
  | { type: "moe:assigned"; slot: number; expert: string; model: string; peer: string; epoch: number }
  | { type: "moe:token"; slot: number; text: string }
  | { type: "moe:answer"; slot: number; expert: string; peer: string; latency_ms: number }
  | { type: "moe:reassigned"; slot: number; expert: string; from: string; to: string; epoch: number; reason: string };

export type JobStatus = "running" | "done" | "failed";

export interface JobSlot {
  slot: number;
  expert: string;
  model: string;
  peer: string;
  epoch: number;
  text: string;
  truncated: boolean;
  chunks: number;
  answered: boolean;
  latency_ms: number | null;
  reassigned: Array<{ from: string; to: string; epoch: number; reason: string }>;
}

export interface JobRecord {
  trace_id: string;
  prompt: string;
  task_type: string | null;
  experts: number | null;
  status: JobStatus;
  started_ms: number;
  finished_ms: number | null;
  slots: JobSlot[];
  result: MoeResult | null;
  error: { message: string; code?: string } | null;
}

export interface JobSummary {
  trace_id: string;
  prompt: string;
  status: JobStatus;
  started_ms: number;
  finished_ms: number | null;
  slots: number;
  answered: number;
  peers: string[];
  response: string | null;
  consensus_score: number | null;
  consensus_reached: boolean | null;
  error: string | null;
}

/** What arrives on /v1/events (the UI reads these; others are ignored). */
export type ApiEvent =
  | { type: "hello"; api: string; version: number; time: string }
  | { type: "peer:joined" | "peer:online" | "peer:offline"; peer: PeerInfo }
  | { type: "mesh:joined"; network: string }
  | { type: "relay:changed"; url: string }
  | { type: "moe:job-started" | "moe:job-finished"; job: JobSummary }
  | { type: "moe:job-progress"; trace_id: string; event: MoeEvent }
  | { type: string; [key: string]: unknown };

export type GpuPreference = "auto" | "cuda" | "vulkan" | "metal" | "off";

/** The llama.cpp backend that serves on this node, why, and the budgets it runs with. */
export interface InferenceStatus {
  backend: "cuda" | "vulkan" | "metal" | "cpu";
  requested: GpuPreference;
  reason: string;
  fix: string | null;
  gpu: { devices: string[]; vramTotalBytes: number; vramFreeBytes: number } | null;
  threads: number;
  maxConcurrent: number;
  memoryBudgetBytes: number;
  gpuMemoryBudgetBytes: number;
}

export interface ComputePolicy {
  version: number;
  inference: {
    gpu: GpuPreference;
    gpu_layers: "auto" | number;
    gpu_memory_budget_gb: "auto" | number;
    threads: "auto" | number;
    memory_budget_gb: "auto" | number;
    max_concurrent: "auto" | number;
    max_queue: number;
  };
  worker: {
    serve_assigned_jobs: boolean;
    allowed_models: string[];
    max_tokens: number;
    requesters: { default: "mesh" | "deny"; allow: string[]; deny: string[] };
  };
}

export interface InferencePolicySummary {
  default_task_type: string;
  task_types: string[];
  local_tier: {
    min_parallel: number;
    max_parallel: number;
    timeout_ms: number;
    max_reassignments: number;
    max_tokens: number;
    experts: Array<{ name: string; model: string; template: string; weight: number; specialization: string[] }>;
  };
  cloud_tier: { enabled: boolean; providers: Array<{ name: string; model: string; weight: number }> };
  reducer: { strategy: string; min_agreement: number; conflict_resolution: string; require_consensus: boolean };
  audit: { log_all_responses: boolean; store_disagreements: boolean; trace_id_propagation: boolean };
}

export interface Policies {
  compute: ComputePolicy;
  inference: InferencePolicySummary;
}

export interface ApiErrorBody {
  error: { code: string; message: string; fix: string };
}
