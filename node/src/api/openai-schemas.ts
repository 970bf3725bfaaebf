// The body of POST /v1/chat/completions as ripple-mesh accepts it: the OpenAI fields it honours (or
// that are harmless: n = 1, user, zero penalties), text-only messages, and a `ripple` extension for
// the MOE's knobs. Anything else is refused with a 400 naming the field, rather than silently ignored.
import { z } from "zod";
import type { ChatMessage } from "../inference/inference-types.ts";
import { checkMessagesSize, intIn, MAX_MESSAGES, MAX_PROMPT_BYTES, MAX_TOKENS_LIMIT, MAX_TRACE_ID_CHARS, modelName, numberIn, InvalidBodyError } from "./inference-schemas.ts";

const textPart = z.strictObject({
  type: z.literal("text", { error: 'only "text" content parts are supported' }),
  text: z.string({ error: "must be a string" }),
});

const chatMessage = z.strictObject({
  role: z.enum(["system", "developer", "user", "assistant"], { error: 'must be "system", "developer", "user" or "assistant" (tools are not supported)' }),
  content: z.union([z.string(), z.array(textPart).max(64, { error: "must hold at most 64 parts" })], { error: "must be a string or an array of text parts" }).nullable(),
  name: z.string().max(64).optional(),
  // An assistant message echoed back from an earlier answer carries this.
  refusal: z.string().nullable().optional(),
});

export const chatCompletionBodySchema = z
  .strictObject({
    model: modelName,
    messages: z
      .array(chatMessage, { error: "must be an array of {role, content}" })
      .min(1, { error: "must hold at least one message" })
      .max(MAX_MESSAGES, { error: `must hold at most ${MAX_MESSAGES} messages` }),
    max_tokens: intIn(1, MAX_TOKENS_LIMIT).nullable().optional(),
    max_completion_tokens: intIn(1, MAX_TOKENS_LIMIT).nullable().optional(),
    temperature: numberIn(0, 2).nullable().optional(),
    top_p: numberIn(0, 1).nullable().optional(),
    seed: intIn(0, 2 ** 32 - 1).nullable().optional(),
    stop: z
      .union([z.string(), z.array(z.string()).max(4, { error: "must hold at most 4 strings" })], { error: "must be a string or an array of at most 4 strings" })
      .nullable()
      .optional(),
    stream: z.boolean({ error: "must be true or false" }).nullable().optional(),
    stream_options: z.strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).nullable().optional(),
    n: z.literal(1, { error: "must be 1 (one choice per request)" }).nullable().optional(),
    user: z.string().max(256).optional(),
    presence_penalty: z.literal(0, { error: "is not supported (only 0)" }).nullable().optional(),
    frequency_penalty: z.literal(0, { error: "is not supported (only 0)" }).nullable().optional(),
    /** ripple-mesh's extension for model `ripple-moe` (OpenAI clients send it with `extra_body`). */
    ripple: z
      .strictObject({
        task_type: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/, { error: "must be letters, digits and _ . : -" }).optional(),
        experts: intIn(1, 16).optional(),
        require_consensus: z.boolean({ error: "must be true or false" }).optional(),
        trace_id: z.string().min(1).max(MAX_TRACE_ID_CHARS).regex(/^[A-Za-z0-9_.:-]+$/, { error: "must be letters, digits and _ . : -" }).optional(),
      })
      .optional(),
  })
  .superRefine((b, ctx) => checkMessagesSize(b.messages.map((m) => ({ content: contentText(m.content) })), ctx, "messages"));

export type ChatCompletionBody = z.infer<typeof chatCompletionBodySchema>;
type OpenAiMessage = ChatCompletionBody["messages"][number];

export const chatShape = "an OpenAI chat completion request {model, messages, max_tokens?, temperature?, top_p?, seed?, stop?, stream?, stream_options?, ripple?}";

export const chatHints: Record<string, string> = {
  model: 'set "model" to "ripple-moe" or a model name of GET /v1/models',
  messages: `send 1 to ${MAX_MESSAGES} messages with roles system/developer/user/assistant and text content, at most ${MAX_PROMPT_BYTES} bytes of text in all`,
  max_tokens: `set it to a whole number from 1 to ${MAX_TOKENS_LIMIT}, or leave it out`,
  max_completion_tokens: `set it to a whole number from 1 to ${MAX_TOKENS_LIMIT}, or leave it out`,
  temperature: "set it to a number from 0 to 2, or leave it out",
  top_p: "set it to a number from 0 to 1, or leave it out",
  seed: "set it to a whole number from 0 to 4294967295, or leave it out",
  stop: "send a string or up to 4 strings, or leave it out",
  n: "leave it out (ripple-mesh returns one choice)",
  presence_penalty: "leave it out: ripple-mesh does not apply penalties",
  frequency_penalty: "leave it out: ripple-mesh does not apply penalties",
  stream_options: "send {include_usage?: boolean} or leave it out",
  ripple: "send {task_type?, experts? (1-16), require_consensus?, trace_id?} (only used with model ripple-moe)",
};

export function contentText(content: OpenAiMessage["content"]): string {
  if (content === null) return "";
  return typeof content === "string" ? content : content.map((p) => p.text).join("");
}

/** The messages as the inference seam takes them (`developer` is OpenAI's newer name for `system`). */
export function toChatMessages(messages: OpenAiMessage[]): ChatMessage[] {
  return messages.map((m) => ({ role: m.role === "developer" ? "system" : m.role, content: contentText(m.content) }));
}
