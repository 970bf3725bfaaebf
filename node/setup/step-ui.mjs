// Step: build the web UI (ui/ → ui/dist, which the daemon serves at `/`) with Vite. Skipped when the
// UI's sources, its build config and the installed dependencies are the same as for the last build
// (their hash is the stamp, kept beside the output). Takes ~1–2 s on 2 cores.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { run } from "./exec.mjs";
import { sha256Files } from "../src/config/hashing.mjs";
import { repoRoot } from "../src/config/paths.mjs";

const uiDir = join(repoRoot, "ui");
/** The API types package the UI bundles (its shapes and SSE parser). */
const apiTypesDir = join(repoRoot, "api-types");
const distDir = join(uiDir, "dist");
const stampFile = join(distDir, ".build-inputs.sha256");

/** Every file the build reads: sources, static files, index.html, config, the package manifest, and the API types package. */
function buildInputs(dir = uiDir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!["dist", "node_modules", "test"].includes(entry.name)) files.push(...buildInputs(path));
    } else files.push(path);
  }
  return files.sort();
}

async function inputsHash() {
  const files = [...buildInputs(), ...buildInputs(apiTypesDir)].map((f) => relative(repoRoot, f));
  const contents = await sha256Files(repoRoot, files);
  // A different Vite or Preact (after `npm ci`) builds different bytes.
  const lock = createHash("sha256").update(readFileSync(join(repoRoot, "package-lock.json"))).digest("hex");
  return createHash("sha256").update(`${contents}\n${lock}`).digest("hex");
}

/** @type {import("./steps.mjs").Step} */
export const uiStep = {
  name: "web UI",
  async check() {
    if (!existsSync(join(distDir, "index.html")) || !existsSync(stampFile)) return null;
    return readFileSync(stampFile, "utf8").trim() === (await inputsHash()) ? "ui/dist is up to date" : null;
  },
  async run() {
    const hash = await inputsHash();
    await run(process.execPath, [join(repoRoot, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"], {
      cwd: uiDir,
      fix: "run `npm run build -w ui` to see the error, fix it and run setup again",
    });
    writeFileSync(stampFile, hash + "\n");
    return "built ui/dist with Vite";
  },
};
