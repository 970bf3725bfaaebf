// The libp2p protocol a requester uses to wake an assignee and receive its answer as it is generated.
// The job and its assignment are written to resource_mesh first (the durable, validated record);
// this request carries the slot's task so the worker can start at once instead of waiting for the
// DHT to bring it (it checks the assignment beside the generation, or first for a requester that
// gave cause: worker/assignment-check.ts), and the answer streams back token by token.
import { createHash } from "node:crypto";
import { z } from "zod";
import { expertTaskSchema } from "./expert-task.ts";
import { inferenceErrorCodes } from "../inference/inference-errors.ts";

export const jobProtocol = "/ripple-mesh/job/1.0.0";
/** A request carries at most a 32 KiB prompt plus its template; answers are ≤ 64 KiB inline. */
export const jobProtocolMaxBytes = 256 * 1024;

const hashText = z.string().regex(/^uhCkk[A-Za-z0-9_-]{48}$/, "an action hash in base64 (uhCkk…)");

export const jobRequestSchema = z.strictObject({
  job: hashText,
  assignment: hashText,
  slot: z.number().int().min(0).max(63),
  epoch: z.number().int().min(1).max(1000),
  trace_id: z.string().min(1).max(64),
  task: expertTaskSchema,
});
export type JobRequest = z.infer<typeof jobRequestSchema>;

export type JobProgress = { type: "queued" } | { type: "started" } | { type: "tokens"; text: string };

export const jobAnswerSchema = z.discriminatedUnion("outcome", [
  z.strictObject({
    outcome: z.literal("done"),
    output: z.string().max(64 * 1024),
    response_hash: z.string().regex(/^[0-9a-f]{64}$/),
    tokens: z.number().int().min(0),
    prompt_tokens: z.number().int().min(0),
    latency_ms: z.number().int().min(0),
    model: z.strictObject({ name: z.string().max(64), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
    finish_reason: z.enum(["stop", "length", "aborted"]),
    /** The task's stop string that ended the output, when one did. */
    stop_sequence: z.string().min(1).max(64).optional(),
    /** The model's probability for its own answer, when the task asked (a claim: bounded again where it is used). */
    confidence: z.number().min(0).max(1).optional(),
  }),
  z.strictObject({
    outcome: z.literal("refused"),
    code: z.enum(Object.keys(inferenceErrorCodes) as [keyof typeof inferenceErrorCodes, ...Array<keyof typeof inferenceErrorCodes>]),
    message: z.string().max(4096),
  }),
]);
export type JobAnswer = z.infer<typeof jobAnswerSchema>;

/** What a result entry's response_hash is: sha256 of the output's UTF-8 bytes, hex. */
export function responseHash(output: string): string {
  return createHash("sha256").update(output, "utf8").digest("hex");
}
