// Request bodies of the inference routes (/v1/moe, /v1/ask), with their limits, and the one way a bad
// body is reported: 400 naming the field and how to correct it.
import { z } from "zod";
import { InferenceError } from "../inference/inference-errors.ts";
import type { ChatMessage } from "../inference/inference-types.ts";

export const MAX_PROMPT_BYTES = 32 * 1024;
export const MAX_MESSAGES = 64;
export const MAX_TOKENS_LIMIT = 2048;
/** Inference bodies may be larger than the API's default body limit (a 32 KiB prompt, JSON-escaped). */
export const INFERENCE_BODY_LIMIT_BYTES = 256 * 1024;

/** A request body (or path parameter) that cannot be used: 400. */
export class InvalidBodyError extends InferenceError {
  constructor(
    /** The field at fault, e.g. `max_tokens` or `messages[2].content`; undefined for the body as a whole. */
    readonly param: string | undefined,
    message: string,
    fix: string,
  ) {
    super("bad_request", message, fix);
  }
}

export function intIn(min: number, max: number) {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

export function numberIn(min: number, max: number) {
  const error = `must be a number from ${min} to ${max}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
}

/** zod's error for a wrong type, saying "is missing" when the field is absent. */
const typeError = (expected: string) => (iss: { input?: unknown }) => (iss.input === undefined ? "is missing" : expected);

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, "utf8");

export const promptText = z
  .string({ error: typeError("must be a string") })
  .min(1, { error: "must not be empty" })
  .refine((s) => utf8Bytes(s) <= MAX_PROMPT_BYTES, { error: `is larger than ${MAX_PROMPT_BYTES} bytes (32 KiB of UTF-8)` });

export const modelName = z.string({ error: typeError("must be a string") }).min(1, { error: "must not be empty" }).max(128, { error: "must be at most 128 characters" });

/** A job's trace id as resource_mesh keeps it (Job.trace_id: 1..=64 bytes; these characters are one byte each). */
export const MAX_TRACE_ID_CHARS = 64;

const name = (what: string, max = 128) =>
  z
    .string({ error: "must be a string" })
    .min(1, { error: "must not be empty" })
    .max(max, { error: `must be at most ${max} characters` })
    .regex(/^[A-Za-z0-9_.:-]+$/, { error: `must be a ${what} of letters, digits and _ . : -` });

export const moeBodySchema = z.strictObject({
  prompt: promptText,
  task_type: name("task type").optional(),
  experts: intIn(1, 16).optional(),
  max_tokens: intIn(1, MAX_TOKENS_LIMIT).optional(),
  require_consensus: z.boolean({ error: "must be true or false" }).optional(),
  // resource_mesh keeps a job's trace id in at most 64 bytes.
  trace_id: name("trace id", MAX_TRACE_ID_CHARS).optional(),
  open: z.boolean({ error: "must be true or false" }).optional(),
  quorum: z.enum(["early", "all"], { error: 'must be "early" or "all"' }).optional(),
});
export type MoeBody = z.infer<typeof moeBodySchema>;

const chatMessage = z.strictObject({
  role: z.enum(["system", "user", "assistant"], { error: 'must be "system", "user" or "assistant"' }),
  content: z.string({ error: "must be a string" }),
});

/** The text of all messages together is one prompt: it has the prompt's limit. */
export function checkMessagesSize(messages: ReadonlyArray<{ content: string }>, ctx: z.RefinementCtx, path: string): void {
  const bytes = messages.reduce((n, m) => n + utf8Bytes(m.content), 0);
  if (bytes > MAX_PROMPT_BYTES) ctx.addIssue({ code: "custom", path: [path], message: `hold ${bytes} bytes of text, more than ${MAX_PROMPT_BYTES} (32 KiB of UTF-8)` });
}

export const askBodySchema = z
  .strictObject({
    model: modelName,
    prompt: promptText.optional(),
    messages: z
      .array(chatMessage, { error: "must be an array of {role, content}" })
      .min(1, { error: "must hold at least one message" })
      .max(MAX_MESSAGES, { error: `must hold at most ${MAX_MESSAGES} messages` })
      .optional(),
    max_tokens: intIn(1, MAX_TOKENS_LIMIT).optional(),
    temperature: numberIn(0, 2).optional(),
    seed: intIn(0, 2 ** 32 - 1).optional(),
    peer: modelName.optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.prompt === undefined) === (b.messages === undefined)) {
      ctx.addIssue({ code: "custom", path: ["prompt"], message: b.prompt === undefined ? "is missing (send prompt or messages)" : "and messages were both sent (send one of them)" });
    }
    if (b.messages) checkMessagesSize(b.messages, ctx, "messages");
  });
export type AskBody = z.infer<typeof askBodySchema>;

/** What the CLI and tests may send to POST /v1/ask (one of prompt or messages). */
export type AskBodyInput = { model: string; max_tokens?: number; temperature?: number; seed?: number; peer?: string } & ({ prompt: string; messages?: never } | { messages: ChatMessage[]; prompt?: never });

export const moeHints: Record<string, string> = {
  prompt: `send "prompt": a non-empty string of at most ${MAX_PROMPT_BYTES} bytes`,
  task_type: 'set "task_type" to a task type of inference_policy.yaml (e.g. "short_answer"), or leave it out for the default',
  experts: 'set "experts" to a whole number from 1 to 16 (the policy clamps it), or leave it out',
  max_tokens: `set "max_tokens" to a whole number from 1 to ${MAX_TOKENS_LIMIT}, or leave it out`,
  require_consensus: 'set "require_consensus" to true or false, or leave it out for the policy\'s default',
  trace_id: `set "trace_id" to at most ${MAX_TRACE_ID_CHARS} letters, digits and _ . : -, or leave it out`,
  open: 'set "open" to true (workers claim the slots) or false, or leave it out',
  quorum: 'set "quorum" to "early" (stop once the outcome is decided) or "all" (wait for every slot), or leave it out for the policy\'s',
};
export const moeShape = '{"prompt": "...", "task_type"?, "experts"?, "max_tokens"?, "require_consensus"?, "trace_id"?, "open"?, "quorum"?}';

export const askHints: Record<string, string> = {
  model: 'set "model" to a model name the mesh serves (GET /v1/models lists them)',
  prompt: `send either "prompt" (a non-empty string of at most ${MAX_PROMPT_BYTES} bytes) or "messages", not both`,
  messages: `send "messages": 1 to ${MAX_MESSAGES} {"role": "system"|"user"|"assistant", "content": "..."} with at most ${MAX_PROMPT_BYTES} bytes of text in all`,
  max_tokens: `set "max_tokens" to a whole number from 1 to ${MAX_TOKENS_LIMIT}, or leave it out`,
  temperature: 'set "temperature" to a number from 0 (greedy) to 2, or leave it out',
  seed: 'set "seed" to a whole number from 0 to 4294967295, or leave it out',
  peer: 'set "peer" to a node name or agent key from GET /v1/peers, or leave it out to let the mesh choose',
};
export const askShape = '{"model": "...", "prompt": "..." | "messages": [...], "max_tokens"?, "temperature"?, "seed"?, "peer"?}';

/** `a.b[2].c` */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}

/** The parsed body, or an `InvalidBodyError` naming the first wrong field and its fix. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string, hints: Record<string, string>, shape: string): z.infer<S> {
  if (body === undefined || body === null) {
    throw new InvalidBodyError(undefined, `the ${what} request has no JSON body`, `send a JSON body ${shape} with content-type: application/json`);
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const where = issue.path.length ? `${fieldPath(issue.path)}.` : "";
    const keys = issue.keys.map((k) => `${where}${k}`);
    return fail(keys[0], `invalid ${what} request: unknown field${keys.length > 1 ? "s" : ""} ${keys.map((k) => `"${k}"`).join(", ")}`, `remove ${keys.map((k) => `"${k}"`).join(", ")}; the body is ${shape}`);
  }
  if (issue.path.length === 0) return fail(undefined, `invalid ${what} request: ${issue.message}`, `send a JSON object ${shape}`);
  const field = fieldPath(issue.path);
  const top = String(issue.path[0]);
  return fail(field, `invalid ${what} request: ${field} ${issue.message}`, hints[top] ?? `correct it; the body is ${shape}`);
}

function fail(param: string | undefined, message: string, fix: string): never {
  throw new InvalidBodyError(param, message, fix);
}
