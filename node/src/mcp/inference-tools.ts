// The MCP tools inference.* (seed §11.5): an MOE query over the mesh (its MoeResult: response,
// consensus_score, model_votes, trace_id), one model asked, and loading/unloading a model of this node.
// Long calls report progress (notifications/progress) when the client asked for it.
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import type { MoeEvent } from "@ripple-mesh/api-types";
import { z } from "zod";
import { MAX_MESSAGES, MAX_PROMPT_BYTES, MAX_TOKENS_LIMIT } from "../api/inference-schemas.ts";
import type { DaemonLink } from "./daemon-link.ts";
import { field, toolInput } from "./tool-input.ts";
import { jsonResult } from "./tool-result.ts";

export const inferenceToolNames = ["inference.moe_query", "inference.single_query", "inference.load_model", "inference.unload_model"] as const;

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const promptField = () =>
  field.text("prompt", { max: MAX_PROMPT_BYTES, maxBytes: MAX_PROMPT_BYTES, fix: `send a non-empty prompt of at most ${MAX_PROMPT_BYTES} bytes`, description: "the question or task" });
const maxTokensField = () => field.int("max_tokens", 1, MAX_TOKENS_LIMIT, { description: "the most tokens each answer may have" });
const modelField = (description: string) => field.text("model", { max: 128, fix: "give a model name (holochain.query_peers lists what each peer serves)", description });

/** The fields of an MOE job (shared with resources.schedule_task). */
export const moeFields = {
  prompt: promptField(),
  task_type: field
    .text("task_type", { max: 128, pattern: /^[A-Za-z0-9_.:-]+$/, patternText: "letters, digits and _ . : -", fix: "give a task type of inference_policy.yaml (e.g. short_answer, math, code_generation), or leave it out", description: "a task type of the inference policy (default: its default_task_type)" })
    .optional(),
  experts: field.int("experts", 1, 16, { description: "how many experts answer (the policy clamps it)" }).optional(),
  max_tokens: maxTokensField().optional(),
  require_consensus: field.bool("require_consensus", "false: return the best-weighted answer even below the policy's min_agreement").optional(),
};

/** Sends notifications/progress for this call when the client gave a progress token. */
export function progressReporter(extra: Extra): ((message: string) => void) | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  let progress = 0;
  return (message) => {
    progress++;
    void extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress, message } }).catch(() => {});
  };
}

function describeMoeEvent(e: MoeEvent): string | undefined {
  if (e.type === "moe:assigned") return `slot ${e.slot}: ${e.expert} → ${e.model} on ${e.peer}`;
  if (e.type === "moe:answer") return `slot ${e.slot}: ${e.expert} answered on ${e.peer} in ${e.latency_ms} ms`;
  if (e.type === "moe:reassigned") return `slot ${e.slot}: ${e.expert} moved from ${e.from} to ${e.to} (${e.reason})`;
  return undefined; // tokens: too many to report one by one
}

const chatMessage = z.strictObject({
  role: field.oneOf("messages[].role", ["system", "user", "assistant"] as const, "who speaks"),
  content: z.string({ error: "messages[].content must be a string (fix: give each message its text)" }).describe("the message's text"),
});

export function registerInferenceTools(server: McpServer, link: DaemonLink): void {
  server.registerTool(
    "inference.moe_query",
    {
      title: "Ask the mesh (MOE)",
      description:
        "Asks several experts of the mesh (models × prompt templates on different peers) and merges their answers by weighted vote. Returns response, consensus_score (0..1), consensus_reached, model_votes (each expert's answer, model, peer, weight), trace_id and the resource_mesh job hash.",
      inputSchema: toolInput("inference.moe_query", moeFields),
      // Not read-only: it writes a job to resource_mesh and spends peers' compute.
      annotations: { title: "Ask the mesh (MOE)", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async ({ prompt, task_type, experts, max_tokens, require_consensus }, extra) => {
      const progress = progressReporter(extra);
      const result = await (
        await link.client()
      ).moe(
        {
          prompt,
          ...(task_type !== undefined ? { task_type } : {}),
          ...(experts !== undefined ? { experts } : {}),
          ...(max_tokens !== undefined ? { max_tokens } : {}),
          ...(require_consensus !== undefined ? { require_consensus } : {}),
        },
        { signal: extra.signal, ...(progress ? { onEvent: (e: MoeEvent) => { const m = describeMoeEvent(e); if (m) progress(m); } } : {}) },
      );
      return jsonResult({ ...result });
    },
  );

  server.registerTool(
    "inference.single_query",
    {
      title: "Ask one model",
      description: "Asks one model the mesh serves (on this node or a peer that serves it), with a prompt or chat messages; returns its text, tokens, the peer that answered and the trace id.",
      inputSchema: toolInput("inference.single_query", {
        model: modelField("the model to ask"),
        prompt: promptField().optional(),
        messages: z
          .array(chatMessage, { error: "messages must be an array of {role, content} (fix: send messages as [{role, content}, …], or send prompt)" })
          .min(1, { error: "messages must hold at least one message (fix: add a message, or send prompt)" })
          .max(MAX_MESSAGES, { error: `messages must hold at most ${MAX_MESSAGES} messages (fix: send fewer)` })
          .describe("a chat conversation, instead of prompt")
          .optional(),
        max_tokens: maxTokensField().optional(),
      }).superRefine((b, ctx) => {
        if ((b.prompt === undefined) === (b.messages === undefined)) {
          ctx.addIssue({ code: "custom", path: ["prompt"], message: b.prompt === undefined ? "prompt is missing (fix: send prompt or messages)" : "prompt and messages were both sent (fix: send one of them)" });
        }
        const bytes = (b.messages ?? []).reduce((n, m) => n + Buffer.byteLength(m.content, "utf8"), 0);
        if (bytes > MAX_PROMPT_BYTES) ctx.addIssue({ code: "custom", path: ["messages"], message: `messages hold ${bytes} bytes of text, more than ${MAX_PROMPT_BYTES} (fix: shorten them)` });
      }),
      annotations: { title: "Ask one model", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async ({ model, prompt, messages, max_tokens }, extra) => {
      const client = await link.client();
      const result = messages
        ? await client.ask({ model, messages, ...(max_tokens !== undefined ? { max_tokens } : {}) }, { signal: extra.signal })
        : await client.ask({ model, prompt: prompt!, ...(max_tokens !== undefined ? { max_tokens } : {}) }, { signal: extra.signal });
      return jsonResult({ ...result });
    },
  );

  server.registerTool(
    "inference.load_model",
    {
      title: "Load a model",
      description: "Loads one of this node's registered models into memory (within the node's memory budget), so that its first answer does not wait for loading.",
      inputSchema: toolInput("inference.load_model", { name: field.text("name", { max: 128, fix: "give a model this node serves (`ripple models list`)", description: "a model registered on this node" }) }),
      annotations: { title: "Load a model", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async ({ name }) => jsonResult({ model: await (await link.client()).loadModel(name) }),
  );

  server.registerTool(
    "inference.unload_model",
    {
      title: "Unload a model",
      description: "Frees one of this node's loaded models from memory; the next job that needs it loads it again.",
      inputSchema: toolInput("inference.unload_model", { name: field.text("name", { max: 128, fix: "give a model this node serves (`ripple models list`)", description: "a model registered on this node" }) }),
      annotations: { title: "Unload a model", readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ name }) => jsonResult({ model: await (await link.client()).unloadModel(name) }),
  );
}
