// The mesh's resources and this node's place in it (the `ripple resources` commands and the MCP tools
// resources.* and holochain.register_node use them):
//   GET  /v1/resources[?model=M][&all=1]  {peers: online peers with capacity, allocations: this node's (active unless all=1)}
//   POST /v1/resources/allocate           {peer? | model?, duration_s, resource_type?, locality?} → AllocationView
//   POST /v1/resources/release            {allocation, reason?} → AllocationView (state "released")
//   POST /v1/resources/schedule           {prompt, task_type?, experts?, max_tokens?, require_consensus?, open?, allocation?}
//                                         → ScheduleResult: an MOE job (what POST /v1/moe runs), under an active allocation when named
//   POST /v1/capability/publish           re-publishes this node's capability to agent_registry → CapabilityView
import type { AllocateRequest, AllocationView, CapabilityView, ReleaseRequest, ResourceOffer, ScheduleResult } from "@ripple-mesh/api-types";
import { sendJson, withTimeout, type ApiApp } from "./api-reply.ts";
import { plainInference, startInferenceCall } from "./inference-call.ts";
import { toMoeRequest } from "./inference-routes.ts";
import { INFERENCE_BODY_LIMIT_BYTES, InvalidBodyError, modelName, parseBody } from "./inference-schemas.ts";
import type { InferenceSource } from "./inference-source.ts";
import {
  allocateBodySchema,
  allocateHints,
  allocateShape,
  releaseBodySchema,
  releaseHints,
  releaseShape,
  scheduleBodySchema,
  scheduleHints,
  scheduleShape,
} from "./resource-schemas.ts";
import { DaemonNotReadyError } from "../errors.ts";

/** What the daemon provides while it is in a mesh (mesh/allocations.ts). */
export interface ResourceSource {
  available(q: { model?: string }): Promise<ResourceOffer[]>;
  list(q: { all?: boolean }): Promise<AllocationView[]>;
  allocate(req: AllocateRequest): Promise<AllocationView>;
  release(req: ReleaseRequest): Promise<AllocationView>;
  requireActive(allocation: string): Promise<AllocationView>;
}

export interface ResourceRoutesOptions {
  /** Undefined while the node is not in a mesh (503). */
  resources: () => ResourceSource | undefined;
  publishCapability?: () => Promise<CapabilityView>;
  inference?: InferenceSource;
  sourceTimeoutMs: number;
  inferenceTimeoutMs: number;
}

export const resourceRouteList = "GET /v1/resources, POST /v1/resources/allocate, POST /v1/resources/release, POST /v1/resources/schedule, POST /v1/capability/publish";

/** Zome writes and reads on a loaded 2-core machine: more than status/peers get. */
const ZOME_CALL_TIMEOUT_MS = 60_000;

export function registerResourceRoutes(app: ApiApp, opts: ResourceRoutesOptions): void {
  const source = (): ResourceSource => {
    const r = opts.resources();
    if (!r) throw new DaemonNotReadyError("the node has not joined a mesh yet", "wait until `ripple status` says running");
    return r;
  };
  const zomeTimeout = Math.max(opts.sourceTimeoutMs, ZOME_CALL_TIMEOUT_MS);

  app.get("/v1/resources", async (req, reply) => {
    const q = req.query as { model?: unknown; all?: unknown };
    let model: string | undefined;
    if (q.model !== undefined) {
      const parsed = modelName.safeParse(q.model);
      if (!parsed.success) throw new InvalidBodyError("model", `invalid model in the query: ${parsed.error.issues[0]?.message}`, "use ?model=<a model name some peer serves>, or leave it out");
      model = parsed.data;
    }
    const all = q.all === "1" || q.all === "true";
    const r = source();
    const [peers, allocations] = await withTimeout(Promise.all([r.available(model !== undefined ? { model } : {}), r.list({ all })]), zomeTimeout, "resources");
    return sendJson(reply, { peers, allocations });
  });

  app.post("/v1/resources/allocate", async (req, reply) => {
    const b = parseBody(allocateBodySchema, req.body, "allocate", allocateHints, allocateShape);
    return sendJson(reply, await withTimeout(source().allocate(b), zomeTimeout, "allocation"));
  });

  app.post("/v1/resources/release", async (req, reply) => {
    const b = parseBody(releaseBodySchema, req.body, "release", releaseHints, releaseShape);
    return sendJson(reply, await withTimeout(source().release(b), zomeTimeout, "release"));
  });

  const { inference } = opts;
  if (inference) {
    app.post("/v1/resources/schedule", { bodyLimit: INFERENCE_BODY_LIMIT_BYTES }, async (req, reply) => {
      const { allocation, ...moe } = parseBody(scheduleBodySchema, req.body, "schedule", scheduleHints, scheduleShape);
      const held = allocation !== undefined ? await withTimeout(source().requireActive(allocation), zomeTimeout, "allocation check") : null;
      const call = startInferenceCall(reply, opts.inferenceTimeoutMs, "the scheduled MOE job");
      return plainInference(
        reply,
        call,
        () => inference.moe(toMoeRequest(moe), { signal: call.signal }),
        (result) => sendJson(reply, { trace_id: result.trace_id, job: result.job, allocation: held, result } satisfies ScheduleResult),
      );
    });
  }

  const { publishCapability } = opts;
  if (publishCapability) {
    app.post("/v1/capability/publish", async (_req, reply) => sendJson(reply, await withTimeout(publishCapability(), zomeTimeout, "capability publication")));
  }
}
