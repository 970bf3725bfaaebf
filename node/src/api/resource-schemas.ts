// Request bodies of the resource routes (/v1/resources/*), with their limits (the allocation's mirror
// the resource_mesh integrity zome's), and the hint each field's error carries.
import { MAX_ALLOCATION_SECONDS, RESOURCE_TYPES } from "@ripple-mesh/api-types";
import { labelText } from "@ripple-mesh/zome-bindings";
import { z } from "zod";
import { intIn, MAX_PROMPT_BYTES, MAX_TOKENS_LIMIT, modelName, moeBodySchema, moeHints } from "./inference-schemas.ts";

/** A base64 ActionHash as the API prints it ("uhCkk…", 53 characters). */
export const actionHashText = z
  .string({ error: (iss) => (iss.input === undefined ? "is missing" : "must be a string") })
  .regex(/^uhCkk[A-Za-z0-9_-]{48}$/, { error: 'must be an allocation hash as `ripple resources list` prints it ("uhCkk…", 53 characters)' });

const peerRef = z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }).max(64, { error: "must be at most 64 characters" });

export const allocateBodySchema = z
  .strictObject({
    peer: peerRef.optional(),
    model: modelName.optional(),
    duration_s: intIn(1, MAX_ALLOCATION_SECONDS),
    resource_type: z.enum(RESOURCE_TYPES, { error: `must be one of ${RESOURCE_TYPES.join(", ")}` }).optional(),
    // resource_mesh's label rule (bad_label), as the bindings check it before the zome call.
    locality: labelText(32).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.peer === undefined && b.model === undefined) ctx.addIssue({ code: "custom", path: ["peer"], message: "is missing (name a peer, or a model so that a peer serving it is picked)" });
  });
export type AllocateBody = z.infer<typeof allocateBodySchema>;

export const allocateHints: Record<string, string> = {
  peer: 'set "peer" to an online node name or agent key (`ripple peers`), or leave it out and set "model"',
  model: 'set "model" to a model name some peer serves (GET /v1/resources lists them)',
  duration_s: `set "duration_s" to a whole number of seconds from 1 to ${MAX_ALLOCATION_SECONDS} (7 days)`,
  resource_type: `set "resource_type" to one of ${RESOURCE_TYPES.join(", ")}, or leave it out for inference`,
  locality: 'set "locality" to at most 32 bytes of UTF-8 without control characters (e.g. a region), or leave it out',
};
export const allocateShape = '{"peer"?: "<name or agent>", "model"?: "...", "duration_s": N, "resource_type"?, "locality"?}';

export const releaseBodySchema = z.strictObject({
  allocation: actionHashText,
  reason: labelText(256).optional(),
});
export type ReleaseBody = z.infer<typeof releaseBodySchema>;
export const releaseHints: Record<string, string> = {
  allocation: "set \"allocation\" to an allocation hash from `ripple resources list` (GET /v1/resources)",
  reason: 'set "reason" to at most 256 bytes of UTF-8 without control characters, or leave it out',
};
export const releaseShape = '{"allocation": "uhCkk…", "reason"?: "..."}';

const { trace_id: _trace, quorum: _quorum, ...moeFields } = moeBodySchema.shape;
export const scheduleBodySchema = z.strictObject({ ...moeFields, allocation: actionHashText.optional() });
export type ScheduleBody = z.infer<typeof scheduleBodySchema>;
export const scheduleHints: Record<string, string> = {
  ...moeHints,
  allocation: "set \"allocation\" to one of this node's active allocations (`ripple resources list`), or leave it out",
};
export const scheduleShape = '{"prompt": "...", "task_type"?, "experts"?, "max_tokens"?, "require_consensus"?, "open"?, "allocation"?}';

export { MAX_PROMPT_BYTES, MAX_TOKENS_LIMIT };
