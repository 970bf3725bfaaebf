// What the inference routes of the local API need from the daemon. The daemon implements it; tests
// may implement it with real engines or small fakes.
import type { AskRequest, AskResult, LocalModel, MeshModel, ModelsRescan, MoeEvent, MoeRequest, MoeResult } from "@ripple-mesh/api-types";

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
}
