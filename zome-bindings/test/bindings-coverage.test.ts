// Every zome function a coordinator exposes has a typed wrapper in zome-bindings, so a function
// added in Rust without its TypeScript side fails here rather than at a user's first call.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const dnas: Record<string, string> = {
  agent_registry: "agent-registry.ts",
  resource_mesh: "resource-mesh.ts",
  artifact_index: "artifact-index.ts",
};

function externsOf(dna: string): string[] {
  const dir = join(root, "dnas", dna, "zomes", "coordinator", dna, "src");
  const sources = readdirSync(dir).map((f) => readFileSync(join(dir, f), "utf8")).join("\n");
  return [...sources.matchAll(/#\[hdk_extern\]\s*pub fn (\w+)/g)].map((m) => m[1]!);
}

describe("zome-bindings", () => {
  for (const [dna, file] of Object.entries(dnas)) {
    it(`wraps every ${dna} zome function`, () => {
      const binding = readFileSync(join(root, "zome-bindings", "src", file), "utf8");
      const externs = externsOf(dna);
      expect(externs.length).toBeGreaterThan(5);
      const unwrapped = externs.filter((fn) => !binding.includes(`"${fn}"`));
      expect(unwrapped, `${dna} functions with no wrapper in zome-bindings/src/${file}`).toEqual([]);
    });
  }
});
