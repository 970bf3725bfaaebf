// Types and typed calls for the resource_mesh DNA. Limits mirror the integrity zome's
// (dnas/resource_mesh/zomes/integrity/resource_mesh_integrity/src/*.rs).
import { z } from "zod";
import {
  actionHashSchema,
  agentPubKeySchema,
  boundedText,
  cidSchema,
  foundSchema,
  labelText,
  optionalLabel,
  recordList,
  sha256HexSchema,
  validationStatusSchema,
} from "./hashes.ts";
import { readCostSchema } from "./read-cost.ts";
import type { ZomeCaller } from "./zome-caller.ts";

export const resourceMeshRole = "resource_mesh";
const zome = "resource_mesh";

const u32 = z.number().int().min(0).max(0xffffffff);
const inlineOrCid = (field: string) => (v: Record<string, unknown>) =>
  (v[`${field}_inline`] === null) !== (v[`${field}_cid`] === null);

export const jobSchema = z
  .strictObject({
    kind: z.enum(["inference", "compute", "storage"]),
    requirements: boundedText(4096),
    payload_inline: z.string().max(64 * 1024).nullable(),
    payload_cid: cidSchema.nullable(),
    deadline_ms: z.number().int().positive(),
    moe_group: optionalLabel(64),
    trace_id: labelText(64),
    claim_window_ms: z.number().int().min(0).max(600_000),
  })
  .refine(inlineOrCid("payload"), "exactly one of payload_inline and payload_cid must be set");
export type Job = z.infer<typeof jobSchema>;

export const assignmentSchema = z.strictObject({
  job: actionHashSchema,
  assignee: agentPubKeySchema,
  slot: z.number().int().min(0).max(63),
  epoch: z.number().int().min(1).max(1000),
});
export type Assignment = z.infer<typeof assignmentSchema>;

/** `post_assigned_job`: a job plus the epoch-1 assignee of each slot, written in one commit. */
export const assignedJobSchema = z.strictObject({
  job: jobSchema,
  slots: z
    .array(z.strictObject({ slot: z.number().int().min(0).max(63), assignee: agentPubKeySchema }))
    .min(1)
    .max(64),
});
export type AssignedJob = z.infer<typeof assignedJobSchema>;
export const postedJobSchema = z.strictObject({ job: actionHashSchema, assignments: z.array(actionHashSchema) });

export const jobResultSchema = z
  .strictObject({
    assignment: actionHashSchema,
    job: actionHashSchema,
    output_inline: z.string().max(64 * 1024).nullable(),
    output_cid: cidSchema.nullable(),
    response_hash: sha256HexSchema,
    tokens: u32,
    latency_ms: u32,
    model: labelText(128),
  })
  .refine(inlineOrCid("output"), "exactly one of output_inline and output_cid must be set");
export type JobResult = z.infer<typeof jobResultSchema>;

export const claimSchema = z.strictObject({ job: actionHashSchema, slot: z.number().int().min(0).max(63) });
export type Claim = z.infer<typeof claimSchema>;

export const allocationSchema = z.strictObject({
  resource_type: z.enum(["cpu", "gpu", "memory", "storage", "inference"]),
  requirements: boundedText(4096),
  locality_preference: optionalLabel(32),
  duration_seconds: z.number().int().min(1).max(7 * 24 * 3600),
  expires_at_ms: z.number().int().positive(),
  provider: agentPubKeySchema.nullable(),
});
export type Allocation = z.infer<typeof allocationSchema>;

export const allocationReleaseSchema = z.strictObject({ allocation: actionHashSchema, reason: labelText(256) });
export type AllocationRelease = z.infer<typeof allocationReleaseSchema>;

export const accountingRecordSchema = z.strictObject({
  job: actionHashSchema,
  assignment: actionHashSchema,
  agent: agentPubKeySchema,
  tokens: z.number().int().min(0).max(10_000_000),
  served_ms: z.number().int().min(0).max(7 * 24 * 3600 * 1000),
});
export type AccountingRecord = z.infer<typeof accountingRecordSchema>;

export const claimWinnerSchema = z.strictObject({
  claimant: agentPubKeySchema,
  claim: actionHashSchema,
  ranked: z.array(agentPubKeySchema),
});
export const allocationStatusSchema = z.strictObject({
  allocation: foundSchema(allocationSchema),
  released: z.boolean(),
  expired: z.boolean(),
});
export const agentTotalsSchema = z.strictObject({
  agent: agentPubKeySchema,
  records: z.number().int(),
  tokens: z.number().int(),
  served_ms: z.number().int(),
});

/** An assignment with its job (get_assignment_with_job): both validated, the assignment written by the job's author. */
export const assignmentWithJobSchema = z.strictObject({ assignment: foundSchema(assignmentSchema), job: foundSchema(jobSchema) });
export type AssignmentWithJob = z.infer<typeof assignmentWithJobSchema>;

/** What post_result_and_accounting wrote (or, on a retry, found): no accounting on the agent's own job. */
export const postedResultSchema = z.strictObject({ result: actionHashSchema, accounting: actionHashSchema.nullable() });
export type PostedResult = z.infer<typeof postedResultSchema>;

export function resourceMesh(conductor: ZomeCaller) {
  const call = (fn: string, payload: unknown) => conductor.callZome({ role: resourceMeshRole, zome, fn, payload });
  const hash = async (fn: string, payload: unknown) => actionHashSchema.parse(await call(fn, payload));
  const list = async <T extends z.ZodType>(fn: string, payload: unknown, entry: T) => recordList(foundSchema(entry)).parse(await call(fn, payload));
  return {
    createJob: (job: Job) => hash("create_job", jobSchema.parse(job)),
    assignJob: (assignment: Assignment) => hash("assign_job", assignmentSchema.parse(assignment)),
    /** The job and its slots' first assignments; `assignments[i]` belongs to `slots[i]`. */
    postAssignedJob: async (input: AssignedJob) => postedJobSchema.parse(await call("post_assigned_job", assignedJobSchema.parse(input))),
    /** Idempotent: a retry returns the result this agent already wrote for the assignment. */
    postResult: (result: JobResult) => hash("post_result", jobResultSchema.parse(result)),
    /** The result and its accounting record in one commit (none on the agent's own job); idempotent. */
    postResultAndAccounting: async (result: JobResult) => postedResultSchema.parse(await call("post_result_and_accounting", jobResultSchema.parse(result))),
    claimJob: (claim: Claim) => hash("claim_job", claimSchema.parse(claim)),
    allocate: (allocation: Allocation) => hash("allocate", allocationSchema.parse(allocation)),
    release: (release: AllocationRelease) => hash("release", allocationReleaseSchema.parse(release)),
    /** Idempotent: a retry returns the record this agent already wrote for the assignment. */
    recordAccounting: (record: AccountingRecord) => hash("record_accounting", accountingRecordSchema.parse(record)),
    getJob: async (job: Uint8Array) => foundSchema(jobSchema).nullable().parse(await call("get_job", job)),
    listJobs: () => list("list_jobs", null, jobSchema),
    /** Open jobs whose claim window has not closed yet, newest first. */
    listOpenJobs: () => list("list_open_jobs", null, jobSchema),
    /** Diagnostic: the links and records one listOpenJobs read touches. */
    listOpenJobsReadCost: async () => readCostSchema.parse(await call("list_open_jobs_read_cost", null)),
    /** The assignment at this hash and its job; null for any other hash, or until both reach this node. */
    getAssignmentWithJob: async (assignment: Uint8Array) => assignmentWithJobSchema.nullable().parse(await call("get_assignment_with_job", assignment)),
    getAssignments: (job: Uint8Array) => list("get_assignments", job, assignmentSchema),
    getCurrentAssignments: (job: Uint8Array) => list("get_current_assignments", job, assignmentSchema),
    getMyAssignments: () => list("get_my_assignments", null, assignmentSchema),
    /** Every valid result of the job, including superseded epochs. */
    getJobResults: (job: Uint8Array) => list("get_job_results", job, jobResultSchema),
    /** At most one result per slot, written against the slot's current (highest-epoch) assignment. */
    getCountedResults: (job: Uint8Array) => list("get_counted_results", job, jobResultSchema),
    getClaims: (job: Uint8Array) => list("get_claims", job, claimSchema),
    /** The winning claim of a slot by the deterministic tie-break, with every claimant ranked. */
    getClaimWinner: async (job: Uint8Array, slot: number) => claimWinnerSchema.nullable().parse(await call("get_claim_winner", { job, slot })),
    getMyAllocations: async () => recordList(allocationStatusSchema).parse(await call("get_my_allocations", null)),
    getJobAccounting: (job: Uint8Array) => list("get_job_accounting", job, accountingRecordSchema),
    /** One record per counted assignment of the agent (current epoch, not its own job), as every node counts. */
    getAgentTotals: async (agent: Uint8Array) => agentTotalsSchema.parse(await call("get_agent_totals", agent)),
    validationStatus: async (hash: Uint8Array) => validationStatusSchema.parse(await call("validation_status", hash)),
  };
}
