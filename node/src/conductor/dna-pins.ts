// A node joins testnet/mainnet only with the DNA hashes pinned in manifests/holochain/dnas/index.json.
// Other wasm bytes (another compiler, a local change) mean other DNA hashes, i.e. a different DHT:
// the node would see nobody and nobody would see it, so refuse and say why.
import { statSync } from "node:fs";
import { dnaHashesFor } from "./dna-hashes.mjs";
import { loadDnaIndex, loadNetworks } from "../config/networks.mjs";
import { DnaHashMismatchError } from "../errors.ts";
import type { NetworkName } from "../config/network-choice.ts";

export type { NetworkName };

export async function assertPinnedDnaHashes(network: NetworkName, happFile: string, index = loadDnaIndex()): Promise<void> {
  const spec = loadNetworks().networks[network];
  if (!spec?.pinned_dna_hashes) return;
  const pinned = index.networks[network];
  if (!pinned) throw new DnaHashMismatchError(`no DNA hashes are pinned for ${network}`, "restore manifests/holochain/dnas/index.json from git");
  const built = await builtDnaHashes(happFile, spec.network_seed);
  const roles = [...new Set([...Object.keys(pinned), ...Object.keys(built)])].sort();
  const differences = roles.filter((r) => pinned[r] !== built[r]).map((r) => `${r}: built ${built[r] ?? "(missing)"}, pinned ${pinned[r] ?? "(missing)"}`);
  if (differences.length > 0) {
    throw new DnaHashMismatchError(
      `this build's DNAs differ from the ones ${network} runs (${differences.join("; ")})`,
      `build with the pinned compiler (${index.compiler}) from an unmodified checkout — \`npm run setup\` does that when rustup can add the wasm target — or join the \`local\` mesh`,
    );
  }
}

/** Hashes computed per hApp file (path, size, mtime) and seed: a join and the start it leads to check once. */
const builtCache = new Map<string, Promise<Record<string, string>>>();

/**
 * The DNA hashes of `happFile` under `networkSeed` (unpacking it takes the hc tools a second or
 * two), computed once per file version; a failure is not kept, so the next call tries again.
 */
export function builtDnaHashes(happFile: string, networkSeed: string, hashesFor: typeof dnaHashesFor = dnaHashesFor): Promise<Record<string, string>> {
  const st = statSync(happFile);
  const key = `${happFile}\0${st.size}\0${st.mtimeMs}\0${networkSeed}`;
  let built = builtCache.get(key);
  if (!built) {
    built = hashesFor(happFile, networkSeed);
    builtCache.set(key, built);
    built.catch(() => builtCache.delete(key));
  }
  return built;
}
