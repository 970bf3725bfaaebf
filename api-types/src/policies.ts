// The policies in force on a node (GET /v1/policies, the UI's Node page). The compute policy's
// zod schema (node/src/config/compute-policy.ts) is checked at compile time to produce exactly this.
import type { BatchingPreference, GpuPreference } from "./inference.ts";

type AutoOr<T> = "auto" | T;

export interface ComputePolicy {
  version: 1;
  inference: {
    gpu: GpuPreference;
    gpu_layers: AutoOr<number>;
    gpu_memory_budget_gb: AutoOr<number>;
    threads: AutoOr<number>;
    memory_budget_gb: AutoOr<number>;
    max_concurrent: AutoOr<number>;
    /** A model's concurrent generations in one shared context (on), a context each (off), or by backend (auto). */
    batching: BatchingPreference;
    max_queue: number;
    /** A loaded model serving no request for this long is unloaded; 0: never. */
    idle_unload_minutes: number;
  };
  worker: {
    serve_assigned_jobs: boolean;
    serve_open_jobs: boolean;
    allowed_models: string[];
    max_tokens: number;
    per_requester: { max_concurrent: number; max_per_minute: number };
    /**
     * Job slots held for peers that allocated this node: at most reserve_slots (one per requester), each
     * for at most max_minutes, for the requesters on the allow list only ("allow_list") or any the policy admits ("mesh").
     */
    allocations: { reserve_slots: number; max_minutes: number; honour: "allow_list" | "mesh" };
    requesters: { default: "mesh" | "deny"; allow: string[]; deny: string[] };
  };
}

/** The inference policy as shown to people: its experts, tiers, reducer and audit settings. */
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
  reducer: { strategy: string; min_agreement: number; conflict_resolution: string; require_consensus: boolean; quorum: "early" | "all"; confidence: boolean; confidence_exponent: number };
  audit: { log_all_responses: boolean; store_disagreements: boolean; trace_id_propagation: boolean };
}

export interface Policies {
  compute: ComputePolicy;
  inference: InferencePolicySummary;
}
