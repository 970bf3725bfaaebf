// Asking one model, the models a node and its mesh serve, and the llama.cpp backend that serves them.

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export type FinishReason = "stop" | "length" | "aborted";

/** The OpenAI-compatible model id that runs the MOE instead of one model. */
export const MOE_MODEL_ID = "ripple-moe";

export interface AskRequest {
  /** A model name some node of the mesh serves (this one or a peer). */
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
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
  /** The stop string that ended the answer (finishReason "stop"); absent when the model ended it itself. */
  stopSequence?: string;
  traceId: string;
}

export interface MeshModel {
  name: string;
  /**
   * The file the name stands for: this node's own (its model store's) when it serves the model, else
   * the sha256 most serving nodes advertise (a tie goes to the smallest hash, so every node reports the
   * same); "" when no serving node advertises one.
   */
  sha256: string;
  /**
   * Every distinct sha256 the online nodes advertise under this name, with how many advertise it, most
   * first. More than one entry means nodes serve different files under the same name.
   */
  sha256Variants: Array<{ sha256: string; nodes: number }>;
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

/**
 * POST /v1/models/rescan: what changed in models.json (`ripple models add|rm`) since the running
 * node last read it, and what it serves now. `advertised`: the capability was re-published in the
 * mesh (false when nothing changed or the node is in no mesh).
 */
export interface ModelsRescan {
  added: string[];
  removed: string[];
  /** Same name, another file or sha256: its loaded copy is freed once its requests end. */
  changed: string[];
  models: LocalModel[];
  advertised: boolean;
}

/** `inference.gpu` of the compute policy: the backends node-llama-cpp ships, and off (CPU only). */
export const gpuPreferences = ["auto", "cuda", "vulkan", "metal", "off"] as const;
export type GpuPreference = (typeof gpuPreferences)[number];

export type ServingBackend = "cuda" | "vulkan" | "metal" | "cpu";

/** The llama.cpp backend that serves on a node, and why. */
export interface BackendChoice {
  /** What serves. */
  backend: ServingBackend;
  /** What the compute policy asked for. */
  requested: GpuPreference;
  /** Why this backend (always set; for a fallback, what failed). */
  reason: string;
  /** How to get a GPU backend, when the node fell back to the CPU. */
  fix: string | null;
  /** The GPU devices the backend uses, and their VRAM now; null on the CPU. */
  gpu: { devices: string[]; vramTotalBytes: number; vramFreeBytes: number } | null;
}

/** The backend with the budgets resolved from the compute policy (`ripple status`, the UI's Node page). */
export interface InferenceStatus extends BackendChoice {
  threads: number;
  maxConcurrent: number;
  memoryBudgetBytes: number;
  gpuMemoryBudgetBytes: number;
  batching: BatchingStatus;
}

/** The compute policy's `inference.batching`. */
export const batchingPreferences = ["auto", "on", "off"] as const;
export type BatchingPreference = (typeof batchingPreferences)[number];

/**
 * How a model's concurrent requests run: as sequences of one shared context, decoded in one batch per
 * step ("shared-context"), or each on a context of its own ("context-per-request").
 */
export interface BatchingStatus {
  requested: BatchingPreference;
  mode: "shared-context" | "context-per-request";
  reason: string;
}
