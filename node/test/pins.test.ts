// versions.json is the one list of pins: the crates the zomes build with and the npm client the
// daemon talks to the conductor with must be the versions it names.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, versionsFile } from "../src/config/paths.mjs";
import { loadVersions } from "../src/config/toolchain.ts";

const versions = loadVersions(versionsFile);

describe("pins", () => {
  it("dnas/Cargo.toml pins hdk, hdi and holochain_serialized_bytes exactly as versions.json", () => {
    const cargo = readFileSync(join(repoRoot, "dnas", "Cargo.toml"), "utf8");
    for (const [crate, version] of Object.entries(versions.crates)) {
      expect(cargo, crate).toMatch(new RegExp(`^${crate} = "=${version.replaceAll(".", "\\.")}"$`, "m"));
    }
  });

  it("every workspace depends on the pinned @holochain/client", () => {
    for (const pkg of ["node", "zome-bindings", "tryorama-tests"]) {
      const deps = JSON.parse(readFileSync(join(repoRoot, pkg, "package.json"), "utf8")).dependencies;
      expect(deps["@holochain/client"], pkg).toBe(versions.npm["@holochain/client"]);
    }
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8"));
    expect(lock.packages["node_modules/@holochain/client"].version).toBe(versions.npm["@holochain/client"]);
  });
});
