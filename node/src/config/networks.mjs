// The mesh networks (manifests/holochain/networks.json) and the pinned DNA hashes
// (manifests/holochain/dnas/index.json), validated with zod at load. Plain JS so setup scripts and
// the daemon share one reader.
import { join } from "node:path";
import { z } from "zod";
import { loadJsonManifest } from "./json-manifest.mjs";
import { happFile, repoRoot } from "./paths.mjs";

export { happFile };
export const networksFile = join(repoRoot, "manifests", "holochain", "networks.json");
export const dnaIndexFile = join(repoRoot, "manifests", "holochain", "dnas", "index.json");

const url = z.string().url().nullable();
export const networksSchema = z.object({
  networks: z.record(
    z.enum(["local", "testnet", "mainnet"]),
    z
      .strictObject({
        network_seed: z.string().min(1).max(128),
        bootstrap_url: url,
        relay_url: url,
        pinned_dna_hashes: z.boolean(),
        heartbeat_interval_ms: z.number().int().min(1000).max(600_000),
        liveness_window_ms: z.number().int().min(2000).max(3_600_000),
        // Records stamped further than this ahead of a reader's clock are ignored (clock-skew.ts).
        max_clock_skew_ms: z.number().int().min(1000).max(600_000).default(30_000),
        fast_gossip: z.boolean(),
        mdns: z.boolean(),
      })
      .refine((n) => n.liveness_window_ms > n.heartbeat_interval_ms, "liveness_window_ms must be longer than heartbeat_interval_ms"),
  ),
});

/** @typedef {z.infer<typeof networksSchema>["networks"][string]} NetworkSpec */

const dnaHash = z.string().regex(/^uhC0k[A-Za-z0-9_-]{48}$/, "a base64 DNA hash (uhC0k…)");
export const dnaIndexSchema = z.object({
  compiler: z.string(),
  networks: z.record(z.string(), z.record(z.string(), dnaHash)),
});

/** @param {string} file @param {string} detail */
const manifestError = (file, detail) => new Error(`${file} is not a valid manifest: ${detail}. Fix: restore it with \`git checkout -- ${file}\` or correct the named key.`);

/** @returns {z.infer<typeof networksSchema>} */
export function loadNetworks(file = networksFile) {
  return loadJsonManifest(file, networksSchema, (detail) => manifestError(file, detail));
}

/** @returns {z.infer<typeof dnaIndexSchema>} */
export function loadDnaIndex(file = dnaIndexFile) {
  return loadJsonManifest(file, dnaIndexSchema, (detail) => manifestError(file, detail));
}
