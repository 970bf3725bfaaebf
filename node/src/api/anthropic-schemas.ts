// The body of POST /v1/messages (Anthropic's Messages API) as ripple-mesh accepts it: text-only
// system and messages, the sampling fields it honours, stop sequences, stream, metadata (ignored).
// Like Anthropic, max_tokens is required and unknown fields are refused; content blocks other than
// text (images, documents, tools, thinking) are refused with a 400 naming the block.
import { z } from "zod";
import type { ChatMessage } from "../inference/inference-types.ts";
import { checkMessagesSize, intIn, MAX_MESSAGES, MAX_PROMPT_BYTES, MAX_TOKENS_LIMIT, modelName, numberIn } from "./inference-schemas.ts";

/** What an expert task carries (protocol/expert-task.ts): at most 8 stop strings of 1..64 characters. */
export const MAX_STOP_SEQUENCES = 8;
export const MAX_STOP_SEQUENCE_LENGTH = 64;
const MAX_BLOCKS = 64;

const textBlock = z.strictObject({
  type: z.literal("text", { error: 'must be "text": ripple-mesh models read text only (image, document, tool_use, tool_result and thinking blocks are not supported)' }),
  text: z.string({ error: "must be a string" }),
  // Accepted and ignored: prompt caching is the engine's business; a block echoed back from an answer has citations: null.
  cache_control: z.strictObject({ type: z.literal("ephemeral"), ttl: z.enum(["5m", "1h"]).optional() }).nullable().optional(),
  citations: z.null().optional(),
});

const blocks = z.array(textBlock).max(MAX_BLOCKS, { error: `must hold at most ${MAX_BLOCKS} blocks` });
type Content = string | z.infer<typeof blocks>;

/** A string or text blocks. Not a z.union: its one error would hide which block is wrong and why. */
const content = z.unknown().transform((input, ctx): Content => {
  if (typeof input === "string") return input;
  if (!Array.isArray(input)) {
    ctx.addIssue({ code: "custom", message: input === undefined ? "is missing" : "must be a string or an array of text blocks", input });
    return z.NEVER;
  }
  const parsed = blocks.safeParse(input);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, input: undefined } as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});

const message = z.strictObject({
  role: z.enum(["user", "assistant"], { error: 'must be "user" or "assistant" (a system prompt goes in the top-level "system" field)' }),
  content,
});

const maxTokens = z
  .number({ error: (iss) => (iss.input === undefined ? "is missing: the Messages API requires it" : `must be a whole number from 1 to ${MAX_TOKENS_LIMIT}`) })
  .int({ error: `must be a whole number from 1 to ${MAX_TOKENS_LIMIT}` })
  .min(1, { error: `must be a whole number from 1 to ${MAX_TOKENS_LIMIT}` })
  .max(MAX_TOKENS_LIMIT, { error: `must be a whole number from 1 to ${MAX_TOKENS_LIMIT}` });

const messages = z
  .array(message, { error: "must be an array of {role, content}" })
  .min(1, { error: "must hold at least one message" })
  .max(MAX_MESSAGES, { error: `must hold at most ${MAX_MESSAGES} messages` });

/** The system prompt and the messages together stay within the prompt size limit. */
function checkTextSize(b: { system?: Content | undefined; messages: Array<{ content: Content }> }, ctx: z.RefinementCtx): void {
  const texts = [...(b.system === undefined ? [] : [{ content: contentText(b.system) }]), ...b.messages.map((m) => ({ content: contentText(m.content) }))];
  checkMessagesSize(texts, ctx, "messages");
}

export const messagesBodySchema = z
  .strictObject({
    model: modelName,
    messages,
    max_tokens: maxTokens,
    system: content.optional(),
    stop_sequences: z
      .array(
        z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }).max(MAX_STOP_SEQUENCE_LENGTH, { error: `must be at most ${MAX_STOP_SEQUENCE_LENGTH} characters` }),
        { error: "must be an array of strings" },
      )
      .max(MAX_STOP_SEQUENCES, { error: `must hold at most ${MAX_STOP_SEQUENCES} strings` })
      .optional(),
    temperature: numberIn(0, 1).optional(),
    top_p: z.number({ error: "must be a number above 0, at most 1" }).gt(0, { error: "must be a number above 0, at most 1" }).max(1, { error: "must be a number above 0, at most 1" }).optional(),
    top_k: intIn(1, 1000).optional(),
    stream: z.boolean({ error: "must be true or false" }).optional(),
    metadata: z.strictObject({ user_id: z.string().max(256).nullable().optional() }, { error: "must be {user_id?}" }).optional(),
  })
  .superRefine(checkTextSize);

export type MessagesBody = z.infer<typeof messagesBodySchema>;

/** POST /v1/messages/count_tokens: what would be sent, without max_tokens and sampling. */
export const countTokensBodySchema = z
  .strictObject({
    model: modelName,
    messages,
    system: content.optional(),
  })
  .superRefine(checkTextSize);

export const countTokensShape = "an Anthropic count_tokens request {model, messages, system?}";

export const messagesShape = "an Anthropic Messages request {model, messages, max_tokens, system?, stop_sequences?, temperature?, top_p?, top_k?, stream?, metadata?}";

export const messagesHints: Record<string, string> = {
  model: 'set "model" to "ripple-moe" or a model name of GET /v1/models',
  messages: `send 1 to ${MAX_MESSAGES} messages {"role": "user"|"assistant", "content": a string or [{"type": "text", "text": ...}]}, at most ${MAX_PROMPT_BYTES} bytes of text in all (system included)`,
  max_tokens: `set "max_tokens" to a whole number from 1 to ${MAX_TOKENS_LIMIT}`,
  system: 'send "system" as a string or an array of {"type": "text", "text": ...} blocks, or leave it out',
  stop_sequences: `send up to ${MAX_STOP_SEQUENCES} non-empty strings of at most ${MAX_STOP_SEQUENCE_LENGTH} characters, or leave it out`,
  temperature: "set it to a number from 0 to 1, or leave it out",
  top_p: "set it to a number above 0 and at most 1, or leave it out",
  top_k: "set it to a whole number from 1 to 1000, or leave it out",
  stream: "set it to true or false, or leave it out",
  metadata: 'send {"user_id": "..."} or leave it out',
};

export function contentText(c: Content): string {
  return typeof c === "string" ? c : c.map((b) => b.text).join("");
}

/** The system prompt (if any) and the messages as the inference seam takes them. */
export function toChatMessages(body: Pick<MessagesBody, "system" | "messages">): ChatMessage[] {
  const system = body.system === undefined ? "" : contentText(body.system);
  return [...(system !== "" ? [{ role: "system" as const, content: system }] : []), ...body.messages.map((m) => ({ role: m.role, content: contentText(m.content) }))];
}
