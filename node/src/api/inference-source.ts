// What the inference routes of the local API need from the daemon. The daemon implements it; tests
// may implement it with real engines or small fakes.
import type { ChatMessage, FinishReason } from "../inference/inference-types.ts";
import type { MoeRequest, MoeResult } from "../moe/moe-types.ts";

/** The OpenAI-compatible model id that runs the MOE instead of one model. */
export const MOE_MODEL_ID = "ripple-moe";

export interface AskRequest {
  /** A model name some node of the mesh serves (this one or a peer). */
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  /** Run on this node (name or agent key) instead of the one placement picks. */
  peer?: string;
}

export interface AskResult {
  text: string;
  model: string;
  /** Node that ran it. */
  peer: string;
  tokens: number;
  promptTokens: number;
  latencyMs: number;
  finishReason: FinishReason;
  traceId: string;
}

export interface MeshModel {
  name: string;
  sha256: string;
  /** Online nodes that serve it (this one included). */
  nodes: number;
  local: boolean;
}

export interface LocalModel {
  name: string;
  sha256: string;
  bytes: number;
  file: string;
  loaded: boolean;
}

/** Progress of an MOE job, streamed to callers that want it (SSE, WebSocket, CLI). */
export type MoeEvent =
  | { type: "moe:assigned"; slot: number; expert: string; model: string; peer: string; epoch: number }
  | { type: "moe:token"; slot: number; text: string }
  | { type: "moe:answer"; slot: number; expert: string; peer: string; latency_ms: number }
  | { type: "moe:reassigned"; slot: number; expert: string; from: string; to: string; epoch: number; reason: string };

export interface InferenceSource {
  moe(req: MoeRequest, opts: { signal: AbortSignal; onEvent?: (e: MoeEvent) => void }): Promise<MoeResult>;
  ask(req: AskRequest, opts: { signal: AbortSignal; onToken?: (text: string) => void }): Promise<AskResult>;
  meshModels(): Promise<MeshModel[]>;
  localModels(): Promise<LocalModel[]>;
  loadModel(name: string): Promise<LocalModel>;
  unloadModel(name: string): Promise<LocalModel>;
}
