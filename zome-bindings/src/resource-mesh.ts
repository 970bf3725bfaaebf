// Types and typed calls for the resource_mesh DNA. Limits mirror the integrity zome's
// (dnas/resource_mesh/zomes/integrity/resource_mesh_integrity/src/*.rs).
import { z } from "zod";
import { actionHashSchema, agentPubKeySchema } from "./hashes.ts";
import type { ZomeCaller } from "./zome-caller.ts";

export const resourceMeshRole = "resource_mesh";
const zome = "resource_mesh";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex sha256");
const optionalText = (max: number) => z.string().max(max).nullable();

export const jobSchema = z.strictObject({
  kind: z.enum(["inference", "compute", "storage"]),
  requirements: z.string().min(1).max(4096),
  payload_inline: optionalText(64 * 1024),
  payload_cid: optionalText(128),
  deadline_ms: z.number().int().positive(),
  moe_group: optionalText(64),
  trace_id: z.string().min(1).max(64),
});
export type Job = z.infer<typeof jobSchema>;

export const assignmentSchema = z.strictObject({
  job: actionHashSchema,
  assignee: agentPubKeySchema,
  slot: z.number().int().min(0).max(63),
  epoch: z.number().int().min(1).max(1000),
});
export type Assignment = z.infer<typeof assignmentSchema>;

export const jobResultSchema = z.strictObject({
  assignment: actionHashSchema,
  job: actionHashSchema,
  output_inline: optionalText(64 * 1024),
  output_cid: optionalText(128),
  response_hash: sha256Hex,
  tokens: z.number().int().min(0),
  latency_ms: z.number().int().min(0),
  model: z.string().min(1).max(128),
});
export type JobResult = z.infer<typeof jobResultSchema>;

const found = <T extends z.ZodType>(entry: T) =>
  z.strictObject({ action_hash: actionHashSchema, author: agentPubKeySchema, entry });

export function resourceMesh(conductor: ZomeCaller) {
  const call = (fn: string, payload: unknown) => conductor.callZome({ role: resourceMeshRole, zome, fn, payload });
  return {
    async createJob(job: Job): Promise<Uint8Array> {
      return actionHashSchema.parse(await call("create_job", jobSchema.parse(job)));
    },
    async assignJob(assignment: Assignment): Promise<Uint8Array> {
      return actionHashSchema.parse(await call("assign_job", assignmentSchema.parse(assignment)));
    },
    async postResult(result: JobResult): Promise<Uint8Array> {
      return actionHashSchema.parse(await call("post_result", jobResultSchema.parse(result)));
    },
    async getAssignments(job: Uint8Array) {
      return z.array(found(assignmentSchema)).parse(await call("get_assignments", job));
    },
    async getMyAssignments() {
      return z.array(found(assignmentSchema)).parse(await call("get_my_assignments", null));
    },
    async getJobResults(job: Uint8Array) {
      return z.array(found(jobResultSchema)).parse(await call("get_job_results", job));
    },
  };
}
