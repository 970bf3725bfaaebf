// `npm start`: run a local single-node mesh until SIGINT/SIGTERM. (The full `ripple` CLI with
// up/status/peers/join/down arrives with the daemon issue.)
import { parseArgs } from "node:util";
import { join } from "node:path";
import { repoRoot } from "../setup/paths.mjs";
import { Daemon, defaultNodeName } from "./daemon.ts";
import { createLogger } from "./log.ts";

const { values } = parseArgs({
  options: {
    "data-dir": { type: "string", default: join(repoRoot, "workdir", "node") },
    name: { type: "string", default: defaultNodeName() },
  },
  strict: true,
});

const log = createLogger("ripple");
const daemon = new Daemon({ dataDir: values["data-dir"], name: values.name, log });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down");
  await daemon.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

try {
  const status = await daemon.start();
  log.info({ node: status }, "node running on the local mesh; Ctrl-C stops it");
} catch (err) {
  // Our errors carry the fix in their message; a stack trace would only bury it.
  log.error({ err: err instanceof Error ? { name: err.name, message: err.message } : err }, "could not start the node");
  await daemon.stop().catch(() => {});
  process.exit(1);
}
