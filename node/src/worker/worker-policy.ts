// The worker's gate: before anything runs for a peer, the job must pass this node's compute policy
// (who may ask, which models, how many tokens). Each refusal names the rule and how to change it.
import type { ExpertTask } from "../protocol/expert-task.ts";
import { InferenceError } from "../inference/inference-errors.ts";
import type { ComputePolicy } from "../config/compute-policy.ts";

export interface JobContext {
  /** The requester's agent key (base64), from its verified libp2p binding. */
  requester: string;
  /** Whether the requester advertises a capability in this node's mesh (agent_registry). */
  requesterInMesh: boolean;
  /** Whether this node has the model registered. */
  modelRegistered: boolean;
  /** The sha256 of this node's model of that name, when known (checked against a pinned task). */
  modelSha256?: string | undefined;
  /** Test-only expert kinds are honoured (RIPPLE_TEST_EXPERTS=1). */
  testExperts: boolean;
}

export function checkJobAllowed(policy: ComputePolicy, task: Pick<ExpertTask, "kind" | "model" | "maxTokens" | "modelSha256">, ctx: JobContext): void {
  const { worker } = policy;
  const refuse = (code: "policy_refused" | "over_limit" | "model_not_found", message: string, fix: string) => {
    throw new InferenceError(code, message, fix);
  };
  if (!worker.serve_assigned_jobs) refuse("policy_refused", "this node does not run jobs for others", "set worker.serve_assigned_jobs: true in its compute policy");
  const { requesters } = worker;
  if (requesters.deny.includes(ctx.requester)) refuse("policy_refused", `requester ${ctx.requester} is on this node's deny list`, "remove it from worker.requesters.deny");
  if (!requesterAllowed(policy, ctx.requester, ctx.requesterInMesh)) {
    const why = requesters.default === "mesh" ? "is not in the allow list and not a member of this node's mesh" : "is not in the allow list (default: deny)";
    refuse("policy_refused", `requester ${ctx.requester} ${why}`, "add its agent key to worker.requesters.allow in the worker's compute policy");
  }
  if (task.kind !== "model" && !ctx.testExperts) refuse("policy_refused", `expert kind "${task.kind}" is for tests only`, "use experts of kind model");
  if (task.kind === "model") {
    if (!worker.allowed_models.includes("*") && !worker.allowed_models.includes(task.model)) {
      refuse("policy_refused", `model ${task.model} is not in this node's allowed_models (${worker.allowed_models.join(", ") || "none"})`, "ask a node that serves it, or add it to worker.allowed_models");
    }
    if (!ctx.modelRegistered) refuse("model_not_found", `this node has no model named ${task.model}`, "schedule the expert on a node that advertises the model");
    if (task.modelSha256 && ctx.modelSha256 && task.modelSha256 !== ctx.modelSha256) {
      refuse("model_not_found", `this node's ${task.model} is the file sha256 ${ctx.modelSha256.slice(0, 12)}…, the job pins ${task.modelSha256.slice(0, 12)}…`, "schedule the expert on a node that advertises the pinned file");
    }
  }
  if (task.maxTokens > worker.max_tokens) {
    refuse("over_limit", `max_tokens ${task.maxTokens} is over this node's limit of ${worker.max_tokens}`, `ask for at most ${worker.max_tokens} tokens`);
  }
}

/** Whether the policy lets `requester` submit jobs here (deny list first, then allow list or mesh membership). */
export function requesterAllowed(policy: ComputePolicy, requester: string, inMesh: boolean): boolean {
  const { requesters } = policy.worker;
  if (requesters.deny.includes(requester)) return false;
  return requesters.allow.includes(requester) || (requesters.default === "mesh" && inMesh);
}

/** Whether this node holds job slots for `requester`'s allocations of it (worker.allocations.honour). */
export function allocationHonoured(policy: ComputePolicy, requester: string, inMesh: boolean): boolean {
  if (!requesterAllowed(policy, requester, inMesh)) return false;
  return policy.worker.allocations.honour === "mesh" || policy.worker.requesters.allow.includes(requester);
}
