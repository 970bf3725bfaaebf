// manifests/distributed/inference_policy.yaml: which experts answer an MOE job, how many at once,
// how the answers are merged and what is recorded. Strict: unknown keys and dangling references
// (an expert naming a template or task type that does not exist) are errors naming the key.
import { join } from "node:path";
import { z } from "zod";
import { repoRoot } from "./paths.mjs";
import { loadYamlManifest } from "./yaml-manifest.ts";
import { ManifestError } from "./manifest-error.ts";

export const inferencePolicyFile = join(repoRoot, "manifests", "distributed", "inference_policy.yaml");

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "a name of at most 64 characters: lowercase letters, digits, '.', '_' and '-'");

const samplingSchema = z.strictObject({
  temperature: z.number().min(0).max(2),
  top_p: z.number().gt(0).max(1).optional(),
  top_k: z.number().int().min(1).max(1000).optional(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  repeat_penalty: z.number().min(0.5).max(2).optional(),
});
export type PolicySampling = z.infer<typeof samplingSchema>;

const chatTemplateSchema = z.strictObject({
  kind: z.literal("chat"),
  system: z.string().max(4096).optional(),
  shots: z.array(z.strictObject({ user: z.string().max(4096), assistant: z.string().max(4096) })).max(16).optional(),
  user: z.string().max(4096).refine((t) => t.includes("{prompt}"), "must contain {prompt}"),
});
const completionTemplateSchema = z.strictObject({
  kind: z.literal("completion"),
  text: z.string().max(16384).refine((t) => t.includes("{prompt}"), "must contain {prompt}"),
  stop: z.array(z.string().min(1).max(64)).max(8).optional(),
});
const templateSchema = z.discriminatedUnion("kind", [chatTemplateSchema, completionTemplateSchema]);
export type PromptTemplate = z.infer<typeof templateSchema>;

const expertSchema = z.strictObject({
  name,
  model: name,
  template: name,
  sampling: samplingSchema,
  weight: z.number().gt(0).max(100),
  /**
   * Self-consistency: this expert runs as this many samples of its model (seeds seed+1 … seed+k, each a
   * slot of its own, so placement may spread them over peers), each voting with weight / k: together
   * they vote for their majority answer with the expert's weight × its agreement share.
   */
  samples: z.number().int().min(1).max(16).default(1),
  /** Per task type, from `ripple moe calibrate`; a task type not listed uses `weight`. */
  weights: z.record(name, z.number().gt(0).max(100)).optional(),
  specialization: z.array(name).min(1).max(32),
  /** Test-only expert kinds (e.g. "garbage") are accepted only when RIPPLE_TEST_EXPERTS=1. */
  kind: z.enum(["model", "garbage"]).default("model"),
});
export type ExpertSpec = z.infer<typeof expertSchema>;

const providerSchema = z.strictObject({
  name,
  url: z.url({ protocol: /^https?$/ }),
  model: z.string().min(1).max(128),
  api_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]{0,63}$/, "an environment variable name"),
  weight: z.number().gt(0).max(100),
  priority: z.number().int().min(0).max(1000),
  timeout_ms: z.number().int().min(100).max(600_000),
  fallback_on_timeout: z.boolean(),
});
export type CloudProvider = z.infer<typeof providerSchema>;

/** The files experts run, by the label experts use: a peer serves the expert only with exactly this file. */
const modelPinSchema = z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex sha256 of the GGUF file") });

const taskTypeSchema = z.strictObject({ answer: z.enum(["short", "long"]), instruction: z.string().max(1024) });

export const inferencePolicySchema = z
  .strictObject({
    version: z.literal(1),
    default_task_type: name,
    task_types: z.record(name, taskTypeSchema),
    templates: z.record(name, templateSchema),
    models: z.record(name, modelPinSchema),
    local_tier: z.strictObject({
      min_parallel: z.number().int().min(1).max(64),
      max_parallel: z.number().int().min(1).max(64),
      timeout_ms: z.number().int().min(1000).max(3_600_000),
      max_reassignments: z.number().int().min(0).max(10),
      max_tokens: z.number().int().min(1).max(4096),
      claim_window_ms: z.number().int().min(500).max(600_000).default(5000),
      /** After a worker says it started generating: longest wait for a token (first or next) before the slot moves. */
      progress_deadline_ms: z.number().int().min(500).max(600_000).default(20_000),
      /** After dispatch: longest wait, per slot of the job the worker holds, for it to start generating (keep-alives do not extend it). */
      start_deadline_ms: z.number().int().min(1000).max(3_600_000).default(45_000),
      experts: z.array(expertSchema).min(1).max(64),
    }),
    cloud_tier: z.strictObject({ enabled: z.boolean(), providers: z.array(providerSchema).max(16) }),
    reducer: z.strictObject({
      strategy: z.literal("weighted_consensus"),
      min_agreement: z.number().min(0).max(1),
      conflict_resolution: z.literal("highest_weight_wins"),
      require_consensus: z.boolean(),
      /** "early": stop a short-answer job once its outcome cannot change, a long-answer one once a majority of its weight agrees, cancelling the slots still running; "all": wait for every slot. */
      quorum: z.enum(["early", "all"]).default("early"),
      /** Workers also report the probability their model gave its own answer, and each vote counts with weight × that probability (moe/vote-confidence.ts). */
      confidence: z.boolean().default(true),
      /** The most a remote worker's confidence counts when this node cannot check it (no copy of its model file here). */
      unverified_confidence_cap: z.number().min(0.01).max(1).default(0.5),
      /** A vote counts weight × confidence^exponent: above 1, a sure answer outweighs several unsure ones (`ripple moe calibrate` picks it). Absent in older policies: 1. */
      confidence_exponent: z.number().min(1).max(16).default(1),
    }),
    audit: z.strictObject({ log_all_responses: z.boolean(), store_disagreements: z.boolean(), trace_id_propagation: z.boolean() }),
  })
  .superRefine((p, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
    if (!p.task_types[p.default_task_type]) issue(["default_task_type"], `"${p.default_task_type}" is not one of task_types (${Object.keys(p.task_types).join(", ")})`);
    if (p.local_tier.min_parallel > p.local_tier.max_parallel) issue(["local_tier", "min_parallel"], "is above max_parallel");
    const seen = new Set<string>();
    p.local_tier.experts.forEach((e, i) => {
      if (seen.has(e.name)) issue(["local_tier", "experts", i, "name"], `duplicate expert name "${e.name}"`);
      seen.add(e.name);
      if (e.kind === "model" && !p.models[e.model]) issue(["local_tier", "experts", i, "model"], `"${e.model}" is not pinned in models (add its sha256 under models.${e.model})`);
      if (!p.templates[e.template]) issue(["local_tier", "experts", i, "template"], `"${e.template}" is not one of templates (${Object.keys(p.templates).join(", ")})`);
      if (e.samples > 1 && e.sampling.temperature === 0) issue(["local_tier", "experts", i, "samples"], "needs sampling.temperature > 0 (greedy samples are copies of one answer)");
      if (e.samples > 1 && e.name.length > 60) issue(["local_tier", "experts", i, "name"], "at most 60 characters for an expert with samples (each sample is named NAME.sK)");
      for (const t of Object.keys(e.weights ?? {})) {
        if (!p.task_types[t]) issue(["local_tier", "experts", i, "weights", t], `"${t}" is not one of task_types`);
      }
      e.specialization.forEach((t, j) => {
        if (!p.task_types[t]) issue(["local_tier", "experts", i, "specialization", j], `"${t}" is not one of task_types`);
      });
    });
  });
export type InferencePolicy = z.infer<typeof inferencePolicySchema>;

export class InferencePolicyError extends ManifestError {
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super(file, "inference policy", detail, options);
  }
}

export function loadInferencePolicy(file = inferencePolicyFile, env: NodeJS.ProcessEnv = process.env): InferencePolicy {
  const policy = loadYamlManifest(file, inferencePolicySchema, (detail, cause) => new InferencePolicyError(file, detail, cause ? { cause } : undefined));
  const testOnly = policy.local_tier.experts.find((e) => e.kind !== "model");
  if (testOnly && env.RIPPLE_TEST_EXPERTS !== "1") {
    throw new InferencePolicyError(file, `expert "${testOnly.name}" is of the test-only kind "${testOnly.kind}"`);
  }
  return policy;
}

/** An expert's vote weight for a task type: its calibrated per-type weight, else its weight. */
export function expertWeight(expert: Pick<ExpertSpec, "weight" | "weights">, taskType: string): number {
  return expert.weights?.[taskType] ?? expert.weight;
}

/**
 * The slots an expert runs as: itself, or for `samples: k` k experts "NAME.s1" … "NAME.sk" with seeds
 * seed+1 … seed+k and weight / k each (their votes together weigh what the expert weighs).
 */
export function expandSamples(expert: ExpertSpec): ExpertSpec[] {
  if (expert.samples <= 1) return [expert];
  const base = expert.sampling.seed ?? 0;
  return Array.from({ length: expert.samples }, (_, i) => ({
    ...expert,
    name: `${expert.name}.s${i + 1}`,
    samples: 1,
    weight: expert.weight / expert.samples,
    sampling: { ...expert.sampling, seed: base + i + 1 },
  }));
}
