// An MOE job: the request, its progress events, and the merged answer with every expert's vote
// (seed §11.5 `inference.moe_query`).

export interface ModelVote {
  model: string;
  expert: string;
  /** Node name (or agent key prefix) that ran the expert; "cloud:<provider>" for the cloud tier. */
  peer: string;
  response_hash: string;
  /** The expert's weight in the policy. */
  weight: number;
  /**
   * The weight the vote counted: × confidence when the policy's reducer.confidence is on; then a remote
   * machine's answers together weigh its heaviest expert's (vote-voice.ts).
   */
  counted_weight: number;
  /** The probability the model gave its own answer (0..1), when the policy asked workers for it: a worker's claim. */
  confidence?: number;
  /** The answering machine's libp2p peer id; null for this node's own answers and the cloud tier. */
  peer_id: string | null;
  latency_ms: number;
  /** Whether this answer is in the winning group. */
  agreed: boolean;
  slot: number;
  epoch: number;
  tokens: number;
  /** Tokens of the prompt the expert read (its template applied), as its worker or provider reports it (bounded by the prompt's size). */
  prompt_tokens: number;
  /** The expert's answer as generated. */
  output: string;
}

export interface MoeResult {
  response: string;
  /** Counted weight of the winning group ÷ total counted weight of the answers received (0..1). */
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
  /**
   * "ok": no remote machine held more than ⌊(k−1)/2⌋ of the k answers; "insufficient": one did (the
   * mesh had too few peers serving the experts, so this is not a consensus of independent peers);
   * "local": every answer came from this node (or the cloud tier).
   */
  diversity: "ok" | "insufficient" | "local";
  /** Slots stopped because the outcome was decided without them (quorum: early); not failures. */
  cancelled_slots: Array<{ slot: number; expert: string; peer: string }>;
  /** Whether quorum: early stopped the job before every slot answered. */
  stopped_early: boolean;
  /** Answers refused by their checks (forged response_hash, wrong model file); each slot moved on. */
  rejected_answers: Array<{ slot: number; epoch: number; peer: string; reason: string }>;
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
  /** "early": stop once the outcome cannot change (short answers) or a majority of the weight agrees (long ones); "all": wait for every slot (default: the policy's reducer.quorum). */
  quorum?: "early" | "all";
}

/** Progress of an MOE job, streamed to callers that want it (SSE, WebSocket, CLI). */
export type MoeEvent =
  | { type: "moe:assigned"; slot: number; expert: string; model: string; peer: string; epoch: number }
  | { type: "moe:token"; slot: number; text: string }
  | { type: "moe:answer"; slot: number; expert: string; peer: string; latency_ms: number }
  | { type: "moe:reassigned"; slot: number; expert: string; from: string; to: string; epoch: number; reason: string };
