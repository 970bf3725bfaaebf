// What an MOE job returns (seed §11.5 `inference.moe_query`): the merged answer, each expert's vote,
// a consensus score and the trace id.

export interface ModelVote {
  model: string;
  expert: string;
  /** Node name (or agent key prefix) that ran the expert; "cloud:<provider>" for the cloud tier. */
  peer: string;
  response_hash: string;
  weight: number;
  latency_ms: number;
  /** Whether this answer is in the winning group. */
  agreed: boolean;
  slot: number;
  epoch: number;
  tokens: number;
  /** The expert's answer as generated. */
  output: string;
}

export interface MoeResult {
  response: string;
  /** Weight of the winning group ÷ total weight of the answers received (0..1). */
  consensus_score: number;
  /** consensus_score ≥ the policy's min_agreement. */
  consensus_reached: boolean;
  model_votes: ModelVote[];
  trace_id: string;
  task_type: string;
  /** The resource_mesh job's action hash (base64), or null when no job was written (cloud only). */
  job: string | null;
  wall_ms: number;
  /** Slots that never produced an answer, with why. */
  failed_slots: Array<{ slot: number; expert: string; error: string }>;
}

export interface MoeRequest {
  prompt: string;
  /** A task type of inference_policy.yaml; default: the policy's default_task_type. */
  taskType?: string;
  /** How many experts to fan out to (clamped to the policy's local_tier min/max_parallel). */
  experts?: number;
  maxTokens?: number;
  /** false: return the best-weighted answer even below min_agreement (default: the policy's). */
  requireConsensus?: boolean;
  traceId?: string;
  /** Post the job open: workers that can serve a slot claim it, the claim winner gets the slot. */
  open?: boolean;
}
