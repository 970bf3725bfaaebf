// Compiled wasm shared between the conductors of one machine (issue #22): every conductor here
// starts from the machine's cache instead of compiling the hApp (the first one on a machine builds
// it with a throwaway conductor), each under a database key of its own locked with its own lair
// passphrase; the cache itself is a plain SQLite database with every zome compiled and no node's
// agent in it.
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decryptPage, derivePageKey } from "@ripple-mesh/node/src/conductor/sqlcipher-pages.ts";
import { unlockDbKey } from "@ripple-mesh/node/src/conductor/db-key.ts";
import { wasmCacheFile } from "@ripple-mesh/node/src/conductor/wasm-cache.ts";
import { nodePaths } from "@ripple-mesh/node/src/config/node-paths.ts";
import { happFile } from "@ripple-mesh/node/src/config/paths.mjs";
import { startMesh, startMeshTimeoutMs, stopAll, toolchain, type Mesh, type TestNode } from "./harness.ts";

let mesh: Mesh;
beforeAll(async () => {
  mesh = await startMesh("wasm-cache", [{ name: "alice" }, { name: "bob" }]);
}, startMeshTimeoutMs);
afterAll(() => stopAll(mesh?.nodes ?? [], mesh?.bootstrap));

function databases(node: TestNode): string {
  return join(nodePaths(node.dataDir).conductorData, "databases");
}

async function dbKeyOf(node: TestNode) {
  const passphrase = readFileSync(nodePaths(node.dataDir).lairPassphrase, "utf8").trim();
  return unlockDbKey(readFileSync(join(databases(node), "db.key"), "utf8"), passphrase);
}

function firstPage(node: TestNode): Buffer {
  return readFileSync(join(databases(node), "wasm.db")).subarray(0, 4096);
}

describe("the compiled-wasm cache", () => {
  it("gives every conductor the compiled wasm under a database key of its own", async () => {
    const [alice, bob] = mesh.nodes as [TestNode, TestNode];
    // Both work: their zomes run from the primed wasm.db.
    await alice.mesh.listOpenJobs();
    await bob.registry.listNodes();
    for (const n of [alice, bob]) {
      expect(n.conductor.restarts).toBe(0);
      expect(statSync(join(databases(n), "db.key")).mode & 0o777).toBe(0o600);
    }
    const [ka, kb] = await Promise.all([dbKeyOf(alice), dbKeyOf(bob)]);
    expect(ka.key.equals(kb.key)).toBe(false);
    expect(ka.salt.equals(kb.salt)).toBe(false);
    // Each wasm.db opens with its own key only.
    expect(decryptPage(derivePageKey(ka), firstPage(alice), 1).subarray(0, 16).toString("latin1")).toBe("SQLite format 3\0");
    expect(() => decryptPage(derivePageKey(kb), firstPage(alice), 1)).toThrow(/HMAC/);
    expect(() => decryptPage(derivePageKey(ka), firstPage(bob), 1)).toThrow(/HMAC/);
  });

  it("is a plain SQLite database with every zome compiled and neither node's agent in it", async () => {
    const tc = await toolchain();
    const file = await wasmCacheFile(happFile, tc.path("holochain"));
    const query = (sql: string) => execFileSync("sqlite3", ["-readonly", file, sql]).toString().trim();
    expect(query("PRAGMA integrity_check")).toBe("ok");
    const wasms = Number(query("SELECT count(*) FROM Wasm"));
    expect(wasms).toBeGreaterThanOrEqual(6); // three DNAs, an integrity and a coordinator zome each
    expect(Number(query("SELECT count(*) FROM CompiledWasm"))).toBe(wasms);
    const agents = query("SELECT DISTINCT hex(agent) FROM DnaDef").split("\n");
    for (const n of mesh.nodes) {
      const agent = Buffer.from(n.conductor.agentPubKey).subarray(3, 35).toString("hex").toUpperCase();
      expect(agents.some((a) => a.includes(agent))).toBe(false);
    }
  });
});
