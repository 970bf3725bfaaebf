// The import graph of node/src between its units (each folder is one unit; each top-level file is
// one too), for node/test/architecture.test.ts and ARCHITECTURE.md. Run it to print the edges:
//   node scripts/import-graph.mjs
// It reads source text (relative `import … from`, `export … from` and `import("…")`); packages are
// not units. Plain JS, no dependencies, so that it runs before `npm ci`.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const srcRoot = join(repoRoot, "node", "src");

const sourceFile = /\.(ts|tsx|mts|mjs|js)$/;
const importSpec = /(?:^|[\s;])(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

export function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return sourceFile.test(e.name) ? [p] : [];
  });
}

/**
 * Which way dependencies point (ARCHITECTURE.md draws it): a unit may import units of its own layer
 * or below, never above. A unit missing here is an error, so that a new folder gets a place.
 */
export const layers = [
  ["errors", "log", "waits", "linked-signal", "http-body", "text-table", "per-key-rate"],
  ["config", "metrics"],
  ["identity", "supervisor", "p2p", "conductor", "bootstrap", "inference", "capability", "protocol"],
  ["mesh", "artifacts", "worker", "moe"],
  ["api", "nats", "mcp"],
  ["daemon"],
  ["cli"],
];

export const layerOf = (unit) => layers.findIndex((l) => l.includes(unit));

/** "moe" for node/src/moe/…, "errors" for node/src/errors.ts. */
export function unitOf(file, root = srcRoot) {
  const parts = relative(root, file).split(sep);
  return parts.length > 1 ? parts[0] : parts[0].replace(sourceFile, "");
}

/** Every import specifier of the source files under `dir`: { file (absolute), spec }, packages and node: builtins included. */
export function specifiersOf(dir) {
  return sourceFiles(dir).flatMap((file) => [...readFileSync(file, "utf8").matchAll(importSpec)].map((m) => ({ file, spec: m[1] ?? m[2] })));
}

/** Every relative import under `root` (node/src): { from, to, spec } with repo-relative paths; `outside` ones leave `root`. */
export function importsOf(root = srcRoot) {
  return specifiersOf(root)
    .filter(({ spec }) => spec.startsWith("."))
    .map(({ file, spec }) => {
      const target = normalize(join(dirname(file), spec));
      return { from: relative(repoRoot, file), to: relative(repoRoot, target), spec, outside: !target.startsWith(root + sep) };
    });
}

/** Unit → unit → the imports behind that edge. */
export function unitGraph(imports = importsOf(), root = srcRoot) {
  const graph = new Map();
  for (const i of imports.filter((i) => !i.outside)) {
    const a = unitOf(join(repoRoot, i.from), root);
    const b = unitOf(join(repoRoot, i.to), root);
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Map());
    const edges = graph.get(a);
    edges.set(b, [...(edges.get(b) ?? []), `${i.from} → ${i.spec}`]);
  }
  return graph;
}

/** Imports that point up a layer, or come from or go to a unit the layer table does not know. */
export function layerViolations(graph = unitGraph()) {
  const out = [];
  for (const [a, edges] of graph) {
    for (const [b, why] of edges) {
      if (layerOf(a) < 0 || layerOf(b) < 0) out.push(`${layerOf(a) < 0 ? a : b} is in no layer of scripts/import-graph.mjs (${why[0]})`);
      else if (layerOf(b) > layerOf(a)) out.push(`${a} (layer ${layerOf(a)}) imports ${b} (layer ${layerOf(b)}): ${why.join("; ")}`);
    }
  }
  return out;
}

/** Strongly connected components with more than one unit: each one is a cycle between folders. */
export function unitCycles(graph = unitGraph()) {
  const index = new Map(), low = new Map(), stack = [], onStack = new Set(), cycles = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const scc = [];
      let w;
      do { w = stack.pop(); onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const graph = unitGraph();
  for (const [a, edges] of [...graph].sort()) console.log(`${a} → ${[...edges.keys()].sort().join(", ")}`);
  const cycles = unitCycles(graph);
  console.log(cycles.length ? `cycles: ${cycles.map((c) => c.join(" ↔ ")).join("; ")}` : "no cycles");
  const up = layerViolations(graph);
  console.log(up.length ? `against the layers:\n  ${up.join("\n  ")}` : "every import points down or across a layer");
  const outside = importsOf().filter((i) => i.outside);
  console.log(outside.length ? `imports leaving node/src:\n  ${outside.map((i) => `${i.from} → ${i.spec}`).join("\n  ")}` : "no import leaves node/src");
  if (cycles.length || up.length || outside.length) process.exitCode = 1;
}
