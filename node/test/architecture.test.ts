// The folder structure holds: node/src has no import cycle between its folders, every import points
// down (or across) the layers drawn in ARCHITECTURE.md, runtime code never reaches into node/setup/,
// the API types package stays browser-safe and the web UI imports no daemon code. Each check is also
// run on a small tree that breaks it, so that a checker that sees nothing cannot pass.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { importsOf, layerViolations, repoRoot, sourceFiles, specifiersOf, unitCycles, unitGraph } from "../../scripts/import-graph.mjs";

type Import = { from: string; to: string; spec: string; outside: boolean };

const scratch = mkdtempSync(join(tmpdir(), "ripple-arch-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A throwaway source tree: path → file text. */
function tree(name: string, files: Record<string, string>): string {
  const root = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

type Specifier = { file: string; spec: string };

/** Bare module specifiers (packages and node: builtins) imported by the files under `dir`. */
function bareImports(dir: string): Specifier[] {
  return (specifiersOf(dir) as Specifier[]).filter((i) => !i.spec.startsWith(".")).map((i) => ({ file: relative(repoRoot, i.file), spec: i.spec }));
}

describe("node/src's folders", () => {
  it("import each other without a cycle", () => {
    expect(unitCycles(unitGraph())).toEqual([]);
  });

  it("(the cycle check finds a cycle when there is one)", () => {
    const root = tree("cycle", {
      "moe/a.ts": 'import { b } from "../worker/b.ts";\nexport const a = b;\n',
      "worker/b.ts": 'import type { C } from "../moe/c.ts";\nexport const b = 1;\n',
      "moe/c.ts": "export type C = number;\n",
      "config/d.ts": 'export { a } from "../moe/a.ts";\n',
    });
    const cycles = unitCycles(unitGraph(importsOf(root), root));
    expect(cycles).toEqual([["moe", "worker"]]);
  });

  it("import only their own layer or the layers below, and every folder has a layer", () => {
    expect(layerViolations(unitGraph())).toEqual([]);
    const root = tree("layers", {
      "config/a.ts": 'import { b } from "../moe/b.ts";\nexport const a = b;\n',
      "moe/b.ts": "export const b = 1;\n",
      "newfolder/c.ts": 'import { a } from "../config/a.ts";\nexport const c = a;\n',
    });
    const broken = layerViolations(unitGraph(importsOf(root), root));
    expect(broken).toHaveLength(2);
    expect(broken.join("\n")).toMatch(/config \(layer 1\) imports moe \(layer 3\)/);
    expect(broken.join("\n")).toMatch(/newfolder is in no layer/);
  });

  it("never import node/setup/ or anything else outside node/src by path", () => {
    expect((importsOf() as Import[]).filter((i) => i.outside).map((i) => `${i.from} → ${i.spec}`)).toEqual([]);
    const root = tree("outside", { "inference/x.ts": 'import { y } from "../../setup/paths.mjs";\nexport const x = y;\n' });
    expect((importsOf(root) as Import[]).filter((i) => i.outside)).toHaveLength(1);
  });
});

/**
 * Files under `dir` that load node-llama-cpp's code, not only its types: a static value import, or
 * a dynamic import anywhere but inference/llama-module.ts.
 */
function llamaCodeImports(dir: string): string[] {
  return (sourceFiles(dir) as string[])
    .filter((file) => {
      const text = readFileSync(file, "utf8");
      const pkg = `["']node-llama-cpp(?:/[^"']*)?["']`;
      const staticValue = new RegExp(`^(?:import|export)\\s+(?!type\\b)[^;]*?from\\s+${pkg}`, "m").test(text);
      const loads = new RegExp(`(?:import|require)\\(\\s*${pkg}\\s*\\)`).test(text);
      const dynamic = loads && !file.endsWith(join("inference", "llama-module.ts"));
      return staticValue || dynamic;
    })
    .map((file) => relative(dir, file));
}

describe("node-llama-cpp", () => {
  // A node that serves nothing never loads it (issue #22: ~41 MiB of the daemon's memory).
  it("is loaded only through inference/llama-module.ts, on first use", () => {
    expect(llamaCodeImports(join(repoRoot, "node", "src"))).toEqual([]);
    const root = tree("llama", {
      "inference/llama-module.ts": 'export const llamaModule = () => import("node-llama-cpp");\n',
      "inference/types-only.ts": 'import type { Llama } from "node-llama-cpp";\nexport type L = Llama;\n',
      "capability/eager.ts": 'import { getLlama, type Llama } from "node-llama-cpp";\nexport const g = getLlama;\n',
      "capability/sneaky.ts": 'export const m = () => import("node-llama-cpp");\n',
      "capability/reexport.ts": "export { getLlama } from 'node-llama-cpp';\n",
      "capability/required.ts": 'const m = require("node-llama-cpp/dist/index.js");\n',
      "capability/types-reexport.ts": 'export type { Llama } from "node-llama-cpp";\n',
    });
    const found = llamaCodeImports(root).sort();
    expect(found).toEqual(["eager.ts", "reexport.ts", "required.ts", "sneaky.ts"].map((f) => join("capability", f)));
  });
});

describe("the shared packages", () => {
  it("api-types imports nothing (browser-safe: the UI bundles it)", () => {
    expect(bareImports(join(repoRoot, "api-types", "src"))).toEqual([]);
  });

  it("the web UI imports only Preact, the API types package and its own files", () => {
    const foreign = bareImports(join(repoRoot, "ui", "src")).filter((i) => !/^(preact($|\/)|@ripple-mesh\/api-types$)/.test(i.spec));
    expect(foreign).toEqual([]);
    const uiSrc = join(repoRoot, "ui", "src");
    const relativeOut = (specifiersOf(uiSrc) as Specifier[])
      .filter((i) => i.spec.startsWith("."))
      .map((i) => join(dirname(i.file), i.spec))
      .filter((target) => !target.startsWith(uiSrc));
    expect(relativeOut).toEqual([]);
  });
});
