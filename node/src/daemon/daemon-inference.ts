// What the local API's inference routes reach through the daemon: MOE and single-model jobs on the
// mesh, this node's models (list, load, unload, rescan after `ripple models add|rm`), and the
// policies in force. Model changes are announced on /v1/events (and so on NATS).
import type { EventEmitter } from "node:events";
import type { LocalModel, ModelsRescan, Policies } from "@ripple-mesh/api-types";
import { moePromptOf } from "../api/chat-compat.ts";
import { MOE_MODEL_ID, type AskRequest, type InferenceSource, type MoeEvent } from "../api/inference-source.ts";
import { InferenceError } from "../inference/inference-errors.ts";
import type { NodeInference } from "../inference/node-inference.ts";
import type { Logger } from "../log.ts";
import { meshModels } from "../mesh/mesh-models.ts";
import type { PeerInfo } from "../mesh/peer-view.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import type { MoeHistory } from "../moe/moe-history.ts";
import type { MoeRequest } from "../moe/moe-types.ts";
import type { JoinedMesh } from "./joined-mesh.ts";

export interface DaemonInferenceDeps {
  history: MoeHistory;
  metrics: NodeMetrics;
  events: EventEmitter;
  log: Logger;
  /** The node's inference; throws while the node is still starting. */
  node: () => NodeInference;
  /** The node's inference if it has started. */
  started: () => NodeInference | undefined;
  /** The mesh the node is in, if any. */
  mesh: () => JoinedMesh | undefined;
  /** Why a call that needs the mesh cannot run now. */
  notInAMesh: () => Error;
  peers: () => PeerInfo[];
}

export function daemonInferenceSource(deps: DaemonInferenceDeps): InferenceSource {
  const meshInference = () => {
    const running = deps.mesh()?.meshInference;
    if (!running) throw deps.notInAMesh();
    return running;
  };
  const announce = (type: "model:loaded" | "model:unloaded", model: LocalModel): LocalModel => {
    deps.events.emit("event", { type, model });
    return model;
  };
  return {
    moe: (req: MoeRequest, ctl: { signal: AbortSignal; onEvent?: (e: MoeEvent) => void }) => deps.history.run(req, ctl, (r, c) => meshInference().moe(r, c)),
    ask: (req: AskRequest, ctl: { signal: AbortSignal; onToken?: (text: string) => void }) => deps.metrics.observeAsk(async () => meshInference().ask(req, ctl)),
    meshModels: async () => {
      const store = deps.started()?.store;
      return meshModels(deps.peers(), (name) => (store?.has(name) ? store.get(name).sha256 : undefined));
    },
    localModels: async () => deps.node().localModels(),
    loadModel: async (name: string) => announce("model:loaded", await deps.node().loadModel(name)),
    unloadModel: async (name: string) => announce("model:unloaded", await deps.node().unloadModel(name)),
    rescanModels: () => rescanModels(deps),
    countTokens: async ({ model, messages }) => {
      const node = deps.node();
      if (model !== MOE_MODEL_ID) return { inputTokens: await node.countTokens(model, messages), model };
      // The MOE's experts each render the prompt in their own template: counted with the first of
      // their models this node holds, on the prompt the MOE sends them.
      const counted = node.moeCountingModel();
      if (counted === undefined) {
        throw new InferenceError("model_not_found", `${MOE_MODEL_ID}'s tokens are counted with one of its experts' models, and this node holds none of them`, "pull one of the inference policy's expert models (`ripple models pull NAME`), or count with a model this node serves");
      }
      return { inputTokens: await node.countTokens(counted, [{ role: "user", content: moePromptOf(messages) }]), model: counted };
    },
  };
}

/** models.json changed under a running node: serve what it says now and tell the mesh. */
async function rescanModels(deps: DaemonInferenceDeps): Promise<ModelsRescan> {
  const diff = await deps.node().rescanModels();
  const { added, removed, changed } = diff;
  if (added.length + removed.length + changed.length === 0) return { ...diff, advertised: false };
  deps.log.info({ added, removed, changed }, "models.json changed; serving and advertising what it registers now");
  deps.events.emit("event", { type: "models:changed", added, removed, changed });
  const mesh = deps.mesh();
  let advertised = false;
  if (mesh?.meshSession) {
    // The change is served either way; a capability that could not be published now goes out with
    // the next publish (the next start, or POST /v1/capability/publish: MCP holochain.register_node).
    advertised = await mesh.republishCapability().then(
      () => true,
      (err: unknown) => {
        deps.log.warn({ err: (err as Error).message }, "could not re-advertise this node's models now; POST /v1/capability/publish (MCP holochain.register_node) or the next start does");
        return false;
      },
    );
  }
  return { ...diff, advertised };
}

/** The compute and inference policies in force (the web UI's Node page). */
export function policiesOf({ inferencePolicy: p, computePolicy }: NodeInference): Policies {
  return {
    compute: computePolicy,
    inference: {
      default_task_type: p.default_task_type,
      task_types: Object.keys(p.task_types),
      local_tier: { ...p.local_tier, experts: p.local_tier.experts.map((e) => ({ name: e.name, model: e.model, template: e.template, weight: e.weight, specialization: e.specialization })) },
      cloud_tier: { enabled: p.cloud_tier.enabled, providers: p.cloud_tier.providers.map((c) => ({ name: c.name, model: c.model, weight: c.weight })) },
      reducer: p.reducer,
      audit: p.audit,
    },
  };
}
