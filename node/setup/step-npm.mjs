// Step: npm dependencies. `npm ci` when node_modules is missing or package-lock.json changed.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./exec.mjs";
import { repoRoot } from "../src/config/paths.mjs";

const lockFile = join(repoRoot, "package-lock.json");
const stampFile = join(repoRoot, "node_modules", ".ripple-lock.sha256");

function lockHash() {
  return createHash("sha256").update(readFileSync(lockFile)).digest("hex");
}

/** @type {import("./steps.mjs").Step} */
export const npmStep = {
  name: "npm dependencies",
  async check() {
    if (!existsSync(stampFile)) return null;
    return readFileSync(stampFile, "utf8").trim() === lockHash() ? "node_modules matches package-lock.json" : null;
  },
  async run() {
    await run("npm", ["ci", "--no-audit", "--no-fund"], {
      cwd: repoRoot,
      fix: "check that the npm registry is reachable (`npm ping`) and run setup again",
    });
    writeFileSync(stampFile, lockHash() + "\n");
    return "npm ci";
  },
};
