// Hardware classes (manifests/distributed/hardware_classes.json): coarse buckets a requester uses
// to pick peers before looking at exact figures. Our own design: each class has a rank (higher =
// more capable) and minimums; a machine gets the highest-ranked class whose minimums it all meets.
// "GB" here is GiB (2^30 bytes), as everywhere in the capability entry.
import { join } from "node:path";
import { z } from "zod";
import { loadJsonManifest } from "../config/json-manifest.mjs";
import { repoRoot } from "../config/paths.mjs";
import { ManifestError } from "../config/manifest-error.ts";
import { RippleError } from "../errors.ts";

export const hardwareClassesFile = join(repoRoot, "manifests", "distributed", "hardware_classes.json");

const minimumSchema = z.strictObject({
  /** Logical CPUs this process may use, capped at the physical core count. */
  cpu_cores: z.number().int().min(1),
  ram_gb: z.number().min(0),
  /** null: no GPU needed. A number: a GPU node-llama-cpp can use, with at least this much VRAM. */
  gpu_vram_gb: z.number().positive().nullable(),
  /** Decode tokens/s measured on the manifest's reference model; a machine not measured on it does not qualify. */
  reference_tokens_per_second: z.number().positive().optional(),
});

const classSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "an id of at most 32 characters: lowercase letters, digits and '-'"),
  rank: z.number().int().min(0),
  description: z.string().min(1).max(400),
  minimum: minimumSchema,
  /**
   * The most decode tokens/s on the reference model a machine of this class is believed to reach.
   * Requesters cap a peer's advertised speed at its class's ceiling until they have measured it.
   */
  tokens_per_second_ceiling: z.number().positive().max(1e6).optional(),
});
export type HardwareClass = z.infer<typeof classSchema>;

export const hardwareClassesSchema = z
  .strictObject({
    schema: z.literal(1),
    reference_model: z.string().min(1),
    classes: z.array(classSchema).min(1),
  })
  .superRefine((m, ctx) => {
    const seen = new Map<string, number>();
    m.classes.forEach((c, i) => {
      if (seen.has(c.id)) ctx.addIssue({ code: "custom", path: ["classes", i, "id"], message: `duplicate id "${c.id}" (also classes.${seen.get(c.id)}.id); ids must be unique` });
      seen.set(c.id, i);
      const prev = m.classes[i - 1];
      if (prev && c.rank <= prev.rank)
        ctx.addIssue({ code: "custom", path: ["classes", i, "rank"], message: `rank ${c.rank} is not above the previous class's ${prev.rank}; list classes from least to most capable with strictly increasing ranks` });
    });
  });
export type HardwareClasses = z.infer<typeof hardwareClassesSchema>;

/** hardware_classes.json is missing or does not match its schema. */
export class HardwareClassesManifestError extends ManifestError {
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super(file, "hardware classes manifest", detail, options);
  }
}

export function loadHardwareClasses(file = hardwareClassesFile): HardwareClasses {
  return loadJsonManifest(file, hardwareClassesSchema, (detail, cause) => new HardwareClassesManifestError(file, detail, cause ? { cause } : undefined));
}

/** What classification looks at. */
export interface ClassificationFacts {
  cpuCores: number;
  ramGb: number;
  /** VRAM of the GPU inference can use; null when there is none. */
  gpuVramGb: number | null;
  /** Decode tokens/s on the reference model; null when not measured on it. */
  referenceTokensPerSecond: number | null;
}

export function meetsMinimum(facts: ClassificationFacts, min: HardwareClass["minimum"]): boolean {
  if (facts.cpuCores < min.cpu_cores || facts.ramGb < min.ram_gb) return false;
  if (min.gpu_vram_gb !== null && (facts.gpuVramGb === null || facts.gpuVramGb < min.gpu_vram_gb)) return false;
  if (min.reference_tokens_per_second !== undefined && (facts.referenceTokensPerSecond === null || facts.referenceTokensPerSecond < min.reference_tokens_per_second)) return false;
  return true;
}

/** The highest-ranked class whose minimums are all met; the lowest-ranked one when none is. Order of `classes` is irrelevant. */
export function classifyHardware(facts: ClassificationFacts, classes: readonly HardwareClass[]): HardwareClass {
  if (classes.length === 0) throw new RippleError("no hardware classes to classify against", `list at least one class in ${hardwareClassesFile}`);
  const byRank = [...classes].sort((a, b) => a.rank - b.rank);
  return byRank.findLast((c) => meetsMinimum(facts, c.minimum)) ?? byRank[0]!;
}
