// The inference seam's data shapes, shared by the engine, the worker, the MOE coordinator and the API.

import type { ChatMessage, FinishReason } from "@ripple-mesh/api-types";

export type { ChatMessage, FinishReason };

/** A chat (the model's own chat template renders it) or a raw completion prompt (base models, few-shot). */
export type PromptSpec = { kind: "chat"; messages: ChatMessage[] } | { kind: "completion"; text: string };

export interface Sampling {
  /** 0 = greedy. */
  temperature: number;
  topP?: number;
  topK?: number;
  /** Fixes the sampler's randomness, so temperature > 0 is repeatable. */
  seed?: number;
  repeatPenalty?: number;
}

export interface GenerateRequest {
  /** A registered model name (see model-store.ts). */
  model: string;
  prompt: PromptSpec;
  maxTokens: number;
  sampling: Sampling;
  /** Generation ends before any of these strings (they are not part of the text). */
  stop?: string[];
  signal?: AbortSignal;
  /** Called once when generation starts (after any wait in the queue and any model load). */
  onStart?: () => void;
  /** Each decoded piece of text, in order, as it is generated. */
  onToken?: (text: string) => void;
  /** Also score how sure the model was of its answer (answer-confidence.ts): GenerateResult.confidence. */
  confidence?: boolean;
  /**
   * Who may reuse this prompt's evaluated tokens (the worker: the requester's key). A later request of
   * the same scope evaluates only from where its prompt differs (context-pool.ts); one of another
   * scope never reuses them. Absent: the prompt is evaluated whole and not kept.
   */
  promptReuseScope?: string;
}

export interface GenerateResult {
  text: string;
  /** Generated tokens. */
  tokens: number;
  promptTokens: number;
  latencyMs: number;
  firstTokenMs: number | null;
  model: { name: string; sha256: string };
  finishReason: FinishReason;
  /** The stop string of the request that ended generation (finishReason "stop"); absent when the model ended it. */
  stopSequence?: string;
  /** Geometric mean probability of the first generated tokens (0..1]; only when asked and something was generated. */
  confidence?: number;
}

/** A GGUF file this node serves under a name. */
export interface RegisteredModel {
  name: string;
  /** Absolute path. */
  file: string;
  sha256: string;
  bytes: number;
}
