// Turning an expert of the policy into the exact work a worker runs: the rendered prompt (chat
// turns or completion text), sampling, token limit and stop strings. The requester renders it once
// and sends it with the job, so every worker runs the same thing and the job records it.
import { z } from "zod";
import type { PromptSpec, Sampling } from "../inference/inference-types.ts";
import type { ExpertSpec, InferencePolicy, PolicySampling, PromptTemplate } from "../config/inference-policy.ts";

const MAX_PROMPT_CHARS = 32 * 1024;

export const expertTaskSchema = z.strictObject({
  expert: z.string().min(1).max(64),
  /** "model": run `model`; "garbage": a test-only expert that answers noise (workers honour it only in tests). */
  kind: z.enum(["model", "garbage"]),
  model: z.string().min(1).max(64),
  /** The pinned file: a worker runs the task only if its model of that name is exactly this file. */
  modelSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  prompt: z.discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("chat"),
      messages: z.array(z.strictObject({ role: z.enum(["system", "user", "assistant"]), content: z.string().max(MAX_PROMPT_CHARS) })).min(1).max(64),
    }),
    z.strictObject({ kind: z.literal("completion"), text: z.string().min(1).max(MAX_PROMPT_CHARS) }),
  ]),
  sampling: z.strictObject({
    temperature: z.number().min(0).max(2),
    topP: z.number().gt(0).max(1).optional(),
    topK: z.number().int().min(1).max(1000).optional(),
    seed: z.number().int().min(0).optional(),
    repeatPenalty: z.number().min(0.5).max(2).optional(),
  }),
  maxTokens: z.number().int().min(1).max(4096),
  stop: z.array(z.string().min(1).max(64)).max(8).optional(),
  /** Also report how sure the model was of its answer (the requester's reducer.confidence). */
  confidence: z.boolean().optional(),
});
export type ExpertTask = z.infer<typeof expertTaskSchema>;

function fill(text: string, vars: { prompt: string; instruction: string }): string {
  // One pass, so a prompt that itself contains "{instruction}" is left alone.
  return text.replace(/\{(prompt|instruction)\}/g, (_, key: "prompt" | "instruction") => vars[key]);
}

export function renderPrompt(template: PromptTemplate, vars: { prompt: string; instruction: string }): PromptSpec {
  if (template.kind === "completion") return { kind: "completion", text: fill(template.text, vars) };
  const messages: Array<{ role: "system" | "user" | "assistant"; content: string }> = [];
  if (template.system) messages.push({ role: "system", content: fill(template.system, vars) });
  for (const shot of template.shots ?? []) messages.push({ role: "user", content: shot.user }, { role: "assistant", content: shot.assistant });
  messages.push({ role: "user", content: fill(template.user, vars) });
  return { kind: "chat", messages };
}

export function toSampling(s: PolicySampling): Sampling {
  return {
    temperature: s.temperature,
    ...(s.top_p !== undefined ? { topP: s.top_p } : {}),
    ...(s.top_k !== undefined ? { topK: s.top_k } : {}),
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
    ...(s.repeat_penalty !== undefined ? { repeatPenalty: s.repeat_penalty } : {}),
  };
}

export function expertTask(policy: InferencePolicy, expert: ExpertSpec, input: { prompt: string; taskType: string; maxTokens?: number }): ExpertTask {
  const template = policy.templates[expert.template]!;
  const instruction = policy.task_types[input.taskType]?.instruction ?? "";
  const stop = template.kind === "completion" ? template.stop : undefined;
  return {
    expert: expert.name,
    kind: expert.kind,
    model: expert.model,
    ...(policy.models[expert.model] ? { modelSha256: policy.models[expert.model]!.sha256 } : {}),
    prompt: renderPrompt(template, { prompt: input.prompt, instruction }),
    sampling: toSampling(expert.sampling),
    maxTokens: input.maxTokens ?? policy.local_tier.max_tokens,
    ...(stop ? { stop } : {}),
    ...(policy.reducer.confidence ? { confidence: true } : {}),
  };
}

/**
 * The most tokens a worker can truthfully report for the task's prompt: one per UTF-8 byte of its
 * text, plus a template's markers (a few per message, and its default system text).
 */
export function maxPromptTokens(prompt: ExpertTask["prompt"]): number {
  const texts = prompt.kind === "chat" ? prompt.messages.map((m) => m.content) : [prompt.text];
  return texts.reduce((n, t) => n + Buffer.byteLength(t, "utf8") + 16, 256);
}
