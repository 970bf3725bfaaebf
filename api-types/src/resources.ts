// Resources of the mesh (GET /v1/resources, POST /v1/resources/*, `ripple resources`, the MCP
// tools resources.*): what online peers offer, and this node's allocations — `Allocation` and
// `AllocationRelease` entries of the resource_mesh DNA (seed §11.4 `resources.allocate` / `release`).
import type { ServingBackend } from "./inference.ts";
import type { MoeResult } from "./moe.ts";

/** What an online peer offers now. */
export interface ResourceOffer {
  agent: string;
  name: string;
  self: boolean;
  hardwareClass: string;
  models: string[];
  /** Advertised decode tokens/s (a claim). */
  tokensPerSecond: number;
  cpuCores: number;
  ramGb: number;
  gpu: { vendor: string; model: string; vram_gb: number } | null;
  load: { cpu_percent: number; gpu_percent: number; memory_percent: number };
  activeJobs: number;
  /** Jobs it runs at once, as it advertises; null when its capability does not say. */
  maxConcurrentJobs: number | null;
  /** max_concurrent_jobs − active jobs (never below 0); null when unknown. */
  freeSlots: number | null;
  /** This node's active allocations on that peer. */
  allocatedByMe: number;
}

/** The longest allocation: the resource_mesh integrity zome's MAX_ALLOCATION_SECONDS (7 days). */
export const MAX_ALLOCATION_SECONDS = 7 * 24 * 3600;

export const RESOURCE_TYPES = ["cpu", "gpu", "memory", "storage", "inference"] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** active: neither released nor past its expiry; expired: its expires_at_ms has passed. */
export type AllocationState = "active" | "released" | "expired";

/** One allocation this node made (or that names it as provider). */
export interface AllocationView {
  /** The Allocation entry's action hash (base64): what release takes. */
  allocation: string;
  state: AllocationState;
  /** "requester": this node made it; "provider": another node reserved this node. */
  role: "requester" | "provider";
  resourceType: ResourceType;
  requester: string;
  provider: { agent: string; name: string | null } | null;
  /** From the entry's requirements (null when none was named). */
  model: string | null;
  locality: string | null;
  durationS: number;
  createdAtMs: number;
  expiresAtMs: number;
}

/** GET /v1/resources */
export interface ResourcesView {
  /** Online peers (this node included), filtered by `model` when asked. */
  peers: ResourceOffer[];
  /** This node's allocations: active ones only, unless `all=1`. */
  allocations: AllocationView[];
}

/** POST /v1/resources/allocate: `peer` (node name or agent key) or, without it, `model` picks a peer. */
export interface AllocateRequest {
  peer?: string;
  model?: string;
  duration_s: number;
  resource_type?: ResourceType;
  locality?: string;
}

/** POST /v1/resources/release */
export interface ReleaseRequest {
  allocation: string;
  reason?: string;
}

/** POST /v1/resources/schedule: an MOE job, optionally under an active allocation of this node. */
export interface ScheduleRequest {
  prompt: string;
  task_type?: string;
  experts?: number;
  max_tokens?: number;
  require_consensus?: boolean;
  open?: boolean;
  allocation?: string;
}

export interface ScheduleResult {
  trace_id: string;
  /** The resource_mesh job's action hash, or null when no job was written (cloud only). */
  job: string | null;
  allocation: AllocationView | null;
  result: MoeResult;
}

/** This node's capability as published to agent_registry (POST /v1/capability/publish). */
export interface CapabilityView {
  /** The capability record's action hash (base64). */
  actionHash: string;
  agent: string;
  name: string;
  hardwareClass: string;
  publishedAtMs: number;
  compute: { cpu_cores: number; cpu_arch: string; ram_gb: number; gpu: { vendor: string; model: string; vram_gb: number } | null };
  models: Array<{ name: string; sha256: string | null; cid: string | null }>;
  tokensPerSecond: number;
  /** The llama.cpp backend that measured tokensPerSecond and serves. */
  backend: ServingBackend;
  availability: { status: string; max_concurrent_jobs: number };
  load: { cpu_percent: number; gpu_percent: number; memory_percent: number };
  peerId: string;
  multiaddrs: string[];
}
