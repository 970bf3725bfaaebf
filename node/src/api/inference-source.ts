// What the inference routes of the local API need from the daemon. The daemon implements it; tests
// may implement it with real engines or small fakes.
import type { AskRequest, AskResult, LocalModel, MeshModel, ModelsRescan, MoeEvent, MoeRequest, MoeResult } from "@ripple-mesh/api-types";
import type { ChatMessage } from "../inference/inference-types.ts";

export { MOE_MODEL_ID } from "@ripple-mesh/api-types";
export type { AskRequest, AskResult, LocalModel, MeshModel, ModelsRescan, MoeEvent } from "@ripple-mesh/api-types";

export interface InferenceSource {
  moe(req: MoeRequest, opts: { signal: AbortSignal; onEvent?: (e: MoeEvent) => void }): Promise<MoeResult>;
  ask(req: AskRequest, opts: { signal: AbortSignal; onToken?: (text: string) => void }): Promise<AskResult>;
  meshModels(): Promise<MeshModel[]>;
  localModels(): Promise<LocalModel[]>;
  loadModel(name: string): Promise<LocalModel>;
  unloadModel(name: string): Promise<LocalModel>;
  /** Re-read models.json (changed by `ripple models add|rm`), serve what it registers now, and re-advertise. */
  rescanModels(): Promise<ModelsRescan>;
  /**
   * The messages' token count with the model's own tokenizer and chat template (Anthropic's
   * count_tokens); ripple-moe counts its prompt with one of its experts' models. `model`: the one counted with.
   */
  countTokens(req: { model: string; messages: ChatMessage[] }): Promise<{ inputTokens: number; model: string }>;
}
