// This checkout's version (the root package.json), as the MCP server and the CLI name it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./paths.mjs";

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version;
}
