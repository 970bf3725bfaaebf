// manifests/distributed/storage_policy.yaml: how a node stores and shares bytes in IPFS — the
// replication target, the local cache size (LRU eviction of unpinned content), which outputs and
// prompts leave the DHT for IPFS, and how models are chunked. A node's own copy in its data dir
// overrides the default.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { repoRoot } from "./paths.mjs";
import { ManifestError } from "./manifest-error.ts";
import { loadYamlManifest, nodeManifestFile } from "./yaml-manifest.ts";

export const defaultStoragePolicyFile = join(repoRoot, "manifests", "distributed", "storage_policy.yaml");

/** The DHT's inline limit for outputs and payloads (resource_mesh integrity zome). */
export const MAX_INLINE_BYTES = 64 * 1024;

const chunkerSchema = z
  .string()
  .regex(/^size-\d+$/, 'a fixed-size chunker "size-<bytes>" (e.g. size-1048576): models must chunk the same way on every node')
  .refine((c) => {
    const n = Number(c.slice(5));
    return n >= 1024 && n <= 2 * 1024 * 1024;
  }, "a chunk size between 1024 and 2097152 bytes (bitswap refuses blocks above 2 MiB)");

const modelName = z.string().min(1).max(64).regex(/^[a-z0-9._-]+$/, "a model name (a-z 0-9 . _ -)");

export const storagePolicySchema = z.strictObject({
  version: z.literal(1),
  replication: z.strictObject({
    min_providers: z.number().int().min(1).max(64),
    prefer_local: z.boolean(),
    // Absent in policies written before it existed: off.
    rehost: z
      .strictObject({
        enabled: z.boolean(),
        max_gb: z.number().min(0).max(1_000_000),
        check_interval_ms: z.number().int().min(1000).max(86_400_000),
      })
      .default({ enabled: false, max_gb: 20, check_interval_ms: 60_000 }),
  }),
  cache: z.strictObject({
    max_size_gb: z.number().min(0).max(1_000_000),
    eviction: z.literal("lru"),
  }),
  artifacts: z.strictObject({
    inline_output_max_bytes: z.number().int().min(0).max(MAX_INLINE_BYTES),
    inline_prompt_max_bytes: z.number().int().min(0).max(MAX_INLINE_BYTES),
  }),
  models: z.strictObject({
    chunker: chunkerSchema,
    raw_leaves: z.boolean(),
    cid_version: z.literal(1),
    stall_timeout_ms: z.number().int().min(1000).max(3_600_000),
    // A name (its sha256 pinned in the inference policy's models) or {name, sha256}: a name alone is anyone's to register.
    want: z.array(z.union([modelName, z.strictObject({ name: modelName, sha256: z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex sha256 of the GGUF file") })])).max(64),
    want_check_interval_ms: z.number().int().min(1000).max(86_400_000),
    // Also want the models the inference policy's experts run (those it pins a sha256 for). Absent in older policies: off.
    want_experts: z.boolean().default(false),
    // Absent in policies written before it existed: on, any free port, 2 connections per provider.
    direct_transfer: z
      .strictObject({
        enabled: z.boolean(),
        port: z.number().int().min(0).max(65535),
        // A provider's server admits 8 connections per ticket.
        connections_per_provider: z.number().int().min(1).max(8),
      })
      .default({ enabled: true, port: 0, connections_per_provider: 2 }),
  }),
  kubo: z.strictObject({
    swarm_port: z.number().int().min(0).max(65535),
    swarm_bind: z.enum(["lan", "loopback"]),
  }),
});
export type StoragePolicy = z.infer<typeof storagePolicySchema>;

export class StoragePolicyError extends ManifestError {
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super(file, "storage policy", detail, options);
  }
}

/** The explicit file, else DATA_DIR/storage_policy.yaml when present, else the default. */
export function storagePolicyFileFor(dataDir: string, explicit?: string): string {
  return nodeManifestFile(dataDir, "storage_policy.yaml", defaultStoragePolicyFile, explicit);
}

export function loadStoragePolicy(file = defaultStoragePolicyFile): StoragePolicy {
  if (!existsSync(file)) throw new StoragePolicyError(file, "the file does not exist");
  return loadYamlManifest(file, storagePolicySchema, (detail, cause) => new StoragePolicyError(file, detail, cause ? { cause } : undefined));
}

/** The add options a model is published with; recorded so that a puller can recompute the CID. */
export interface ChunkingParams {
  chunker: string;
  rawLeaves: boolean;
  cidVersion: 1;
}

/** The names `models.want` lists. */
export function wantedModelNames(policy: StoragePolicy): string[] {
  return policy.models.want.map((w) => (typeof w === "string" ? w : w.name));
}

/**
 * What this node fetches on its own: `models.want`, plus (with `want_experts`) the experts' models
 * that `pinned` knows a sha256 for (a bare name is anyone's to register: never pulled on its own).
 */
export function wantedModels(policy: StoragePolicy, expertModels: readonly string[], pinned: (name: string) => string | undefined): string[] {
  const experts = policy.models.want_experts ? expertModels.filter((m) => pinned(m) !== undefined) : [];
  return [...new Set([...wantedModelNames(policy), ...experts])];
}

export function modelChunking(policy: StoragePolicy): ChunkingParams {
  return { chunker: policy.models.chunker, rawLeaves: policy.models.raw_leaves, cidVersion: policy.models.cid_version };
}
