// `npm run pin-dna-hashes`: record the DNA hashes of the freshly built hApp for every network in
// manifests/holochain/dnas/index.json. Run it after a deliberate DNA change, with the pinned
// compiler (the wasm bytes, hence the hashes, depend on it), and commit the result: testnet and
// mainnet nodes refuse to join with any other hashes.
import { writeFileSync } from "node:fs";
import { dnaHashesFor } from "../src/conductor/dna-hashes.mjs";
import { dnaIndexFile, happFile, loadNetworks } from "../src/config/networks.mjs";
import { findWasmToolchain } from "./wasm-toolchain.mjs";

const toolchain = await findWasmToolchain();
if (!toolchain) throw new Error("no wasm toolchain: run `npm run setup` first");
/** @type {Record<string, Record<string, string>>} */
const networks = {};
for (const [name, network] of Object.entries(loadNetworks().networks)) {
  networks[name] = await dnaHashesFor(happFile, network.network_seed);
}
const index = {
  $comment: "Written by `npm run pin-dna-hashes` from a clean build; role → DNA hash per network. testnet/mainnet nodes refuse other hashes.",
  compiler: `${toolchain.mode} ${toolchain.rustcVersion}`,
  networks,
};
writeFileSync(dnaIndexFile, JSON.stringify(index, null, 2) + "\n");
console.log(`wrote ${dnaIndexFile}`);
