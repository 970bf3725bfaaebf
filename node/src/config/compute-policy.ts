// manifests/distributed/compute_policy.yaml: what a node lets the mesh run on it (models, token
// limits, who may submit) and how much of the machine inference may use. A node's own copy in its
// data dir overrides the default. Nothing from a peer runs unless this policy allows it.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { batchingPreferences, gpuPreferences, type ComputePolicy, type GpuPreference } from "@ripple-mesh/api-types";
import { z } from "zod";
import { repoRoot } from "./paths.mjs";
import { loadYamlManifest, nodeManifestFile } from "./yaml-manifest.ts";
import { ManifestError } from "./manifest-error.ts";

export const defaultComputePolicyFile = join(repoRoot, "manifests", "distributed", "compute_policy.yaml");

/** Holochain agent keys as the CLI and logs print them: "u" + base64url of 39 bytes. */
const agentKeyText = z.string().regex(/^uhCAk[A-Za-z0-9_-]{48}$/, 'an agent key as `ripple status` prints it ("uhCAk…", 53 characters)');

export { gpuPreferences };
export type { ComputePolicy, GpuPreference };

const autoOr = <T extends z.ZodType>(n: T) => z.union([z.literal("auto"), n], { error: '"auto" or a number in range' });

export const computePolicySchema = z.strictObject({
  version: z.literal(1),
  inference: z.strictObject({
    /** Which llama.cpp backend serves: the best that loads here (auto), one named, or the CPU (off). */
    gpu: z.enum(gpuPreferences, { error: `one of ${gpuPreferences.join(", ")}` }).default("auto"),
    /** Layers offloaded to the GPU: as many as the VRAM budget holds (auto), or at most N. */
    gpu_layers: z.union([z.literal("auto"), z.number().int().min(0).max(1024)], { error: 'auto or a whole number of layers (0..1024)' }).default("auto"),
    /** VRAM models may take: the card's free VRAM at start minus a margin (auto), or GB. */
    gpu_memory_budget_gb: autoOr(z.number().gt(0).max(4096)).default("auto"),
    threads: autoOr(z.number().int().min(1).max(256)),
    /** RAM models may take: the machine's available memory at start minus a margin (auto), or GB. */
    memory_budget_gb: autoOr(z.number().gt(0).max(4096)),
    /** Generations at once: 1 on a CPU, from the VRAM budget on a GPU (auto), or N. */
    max_concurrent: autoOr(z.number().int().min(1).max(64)),
    /** A model's concurrent generations in one shared context, one batch per step (on), a context each (off), or by backend (auto). */
    batching: z.enum(batchingPreferences, { error: `one of ${batchingPreferences.join(", ")}` }).default("auto"),
    max_queue: z.number().int().min(0).max(1024),
    /** A loaded model serving no request for this long is unloaded (its RAM given back); 0: never. */
    idle_unload_minutes: z.number().min(0).max(10_080).default(10),
  }),
  worker: z.strictObject({
    serve_assigned_jobs: z.boolean(),
    serve_open_jobs: z.boolean().default(true),
    allowed_models: z.array(z.string().min(1).max(64)).max(256),
    max_tokens: z.number().int().min(1).max(32768),
    /** Limits per requester agent, so one member cannot fill this node's queue alone. */
    per_requester: z
      .strictObject({
        max_concurrent: z.number().int().min(1).max(1024),
        max_per_minute: z.number().int().min(1).max(100_000),
      })
      .default({ max_concurrent: 4, max_per_minute: 120 }),
    /** Slots held for peers that allocated this node (worker/reservation-gate.ts); 0 slots: allocations only steer. */
    allocations: z
      .strictObject({
        reserve_slots: z.number().int().min(0).max(64),
        max_minutes: z.number().int().min(1).max(7 * 24 * 60),
        honour: z.enum(["allow_list", "mesh"]).default("allow_list"),
      })
      .default({ reserve_slots: 1, max_minutes: 60, honour: "allow_list" }),
    requesters: z.strictObject({
      default: z.enum(["mesh", "deny"]),
      allow: z.array(agentKeyText).max(1024),
      deny: z.array(agentKeyText).max(1024),
    }),
  }),
});
// The schema produces exactly the API's ComputePolicy (the UI reads it): a change to one fails `tsc` until the other follows.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesApiType: Same<z.infer<typeof computePolicySchema>, ComputePolicy> = true;
void schemaMatchesApiType;

export class ComputePolicyError extends ManifestError {
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super(file, "compute policy", detail, options);
  }
}

/** The explicit file, else DATA_DIR/compute_policy.yaml when present, else the default. */
export function computePolicyFileFor(dataDir: string, explicit?: string): string {
  return nodeManifestFile(dataDir, "compute_policy.yaml", defaultComputePolicyFile, explicit);
}

export function loadComputePolicy(file = defaultComputePolicyFile): ComputePolicy {
  if (!existsSync(file)) throw new ComputePolicyError(file, "the file does not exist");
  return loadYamlManifest(file, computePolicySchema, (detail, cause) => new ComputePolicyError(file, detail, cause ? { cause } : undefined));
}
