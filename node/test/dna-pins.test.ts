// DNA hashes: this checkout's build gives exactly the pinned hashes (CI builds from a fresh clone,
// so this is a second clean build compared with the one that wrote the pins), and a node refuses to
// join a pinned network with other hashes.
import { describe, expect, it } from "vitest";
import { dnaHashesFor } from "../src/conductor/dna-hashes.mjs";
import { happFile, loadDnaIndex, loadNetworks } from "../src/config/networks.mjs";
import { assertPinnedDnaHashes } from "../src/conductor/dna-pins.ts";
import { DnaHashMismatchError } from "../src/errors.ts";

describe("pinned DNA hashes", () => {
  it("are the hashes of this clean build, for every network", async () => {
    const index = loadDnaIndex();
    for (const [name, network] of Object.entries(loadNetworks().networks)) {
      expect(await dnaHashesFor(happFile, network.network_seed), `${name} (pins written with ${index.compiler})`).toEqual(index.networks[name]);
    }
  });

  it("give each network its own DHT", () => {
    const { local, testnet, mainnet } = loadDnaIndex().networks;
    expect(new Set([local!.agent_registry, testnet!.agent_registry, mainnet!.agent_registry]).size).toBe(3);
  });

  it("let a node join testnet with this build and refuse a build with other hashes", async () => {
    await expect(assertPinnedDnaHashes("testnet", happFile)).resolves.toBeUndefined();
    const index = loadDnaIndex();
    const tampered = structuredClone(index);
    tampered.networks.testnet!.resource_mesh = "uhC0k" + "A".repeat(48);
    const refusal = assertPinnedDnaHashes("testnet", happFile, tampered);
    await expect(refusal).rejects.toThrow(DnaHashMismatchError);
    await expect(refusal).rejects.toThrow(new RegExp(`resource_mesh: built ${index.networks.testnet!.resource_mesh}, pinned uhC0kAAAA`));
    await expect(refusal).rejects.toThrow(/Fix: build with the pinned compiler \(rustup rustc/);
    // The local mesh is anyone's own: no pins there.
    await expect(assertPinnedDnaHashes("local", happFile, tampered)).resolves.toBeUndefined();
  });
});
