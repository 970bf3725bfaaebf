// DNA hashes: this checkout's build gives exactly the pinned hashes (CI builds from a fresh clone,
// so this is a second clean build compared with the one that wrote the pins), and a node refuses to
// join a pinned network with other hashes.
import { describe, expect, it } from "vitest";
import { dnaHashesFor } from "../src/conductor/dna-hashes.mjs";
import { happFile, loadDnaIndex, loadNetworks } from "../src/config/networks.mjs";
import { assertPinnedDnaHashes, builtDnaHashes } from "../src/conductor/dna-pins.ts";
import { copyFileSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  it("hashes a hApp file once per version and seed (a join, then the start it leads to, check the same build)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rm-dna-pins-"));
    try {
      const copy = join(dir, "ripple.happ");
      copyFileSync(happFile, copy);
      let runs = 0;
      const counting = async (file: string, seed: string) => (runs++, { agent_registry: `${file}:${seed}` });
      expect(await builtDnaHashes(copy, "seed-a", counting)).toEqual({ agent_registry: `${copy}:seed-a` });
      await builtDnaHashes(copy, "seed-a", counting);
      expect(runs).toBe(1);
      await builtDnaHashes(copy, "seed-b", counting);
      expect(runs).toBe(2);
      // A rebuilt file (another mtime) is hashed again; a failure is not remembered.
      utimesSync(copy, new Date(), new Date(Date.now() + 5000));
      await builtDnaHashes(copy, "seed-a", counting);
      expect(runs).toBe(3);
      const failing = async () => Promise.reject(new Error("hc-app failed"));
      utimesSync(copy, new Date(), new Date(Date.now() + 10_000));
      await expect(builtDnaHashes(copy, "seed-a", failing)).rejects.toThrow("hc-app failed");
      await builtDnaHashes(copy, "seed-a", counting);
      expect(runs).toBe(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
