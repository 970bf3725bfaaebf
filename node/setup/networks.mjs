// The mesh networks (manifests/holochain/networks.json) and the pinned DNA hashes
// (manifests/holochain/dnas/index.json), validated with zod at load. Plain JS so setup scripts and
// the daemon share one reader.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { happFile, repoRoot } from "./paths.mjs";

export { happFile };
export const networksFile = join(repoRoot, "manifests", "holochain", "networks.json");
export const dnaIndexFile = join(repoRoot, "manifests", "holochain", "dnas", "index.json");

const url = z.string().url().nullable();
export const networksSchema = z.object({
  networks: z.record(
    z.enum(["local", "testnet", "mainnet"]),
    z.strictObject({ network_seed: z.string().min(1).max(128), bootstrap_url: url, relay_url: url, pinned_dna_hashes: z.boolean() }),
  ),
});

const dnaHash = z.string().regex(/^uhC0k[A-Za-z0-9_-]{48}$/, "a base64 DNA hash (uhC0k…)");
export const dnaIndexSchema = z.object({
  compiler: z.string(),
  networks: z.record(z.string(), z.record(z.string(), dnaHash)),
});

/** @param {string} file @param {z.ZodType} schema */
function loadJson(file, schema) {
  let raw;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file} could not be read as JSON: ${/** @type {Error} */ (e).message}. Restore it from git.`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}. Restore it from git.`);
  return parsed.data;
}

/** @returns {z.infer<typeof networksSchema>} */
export function loadNetworks(file = networksFile) {
  return loadJson(file, networksSchema);
}

/** @returns {z.infer<typeof dnaIndexSchema>} */
export function loadDnaIndex(file = dnaIndexFile) {
  return loadJson(file, dnaIndexSchema);
}
