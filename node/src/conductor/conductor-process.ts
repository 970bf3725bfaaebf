// How a `holochain --piped` conductor process is run: its config file, the lair passphrase on
// stdin, readiness once it prints its admin port, SIGINT to stop (the only signal on which it
// shuts down cleanly). Shared by the node's conductor and the throwaway one that fills the
// compiled-wasm cache.
import { join } from "node:path";
import type { Logger } from "../log.ts";
import type { NodePaths } from "../config/node-paths.ts";
import { SupervisedProcess } from "../supervisor/supervised-process.ts";
import { conductorAllocator } from "./conductor-memory-env.ts";
import { loadOrCreatePassphrase } from "./secrets.ts";

const adminPortMarker = /###ADMIN_PORT:(\d+)###/;

export interface ConductorProcessOptions {
  name?: string;
  holochainBinary: string;
  paths: NodePaths;
  rustLog?: string;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
}

/** A supervised conductor whose ready value is its admin port. */
export function conductorProcess(opts: ConductorProcessOptions, log: Logger): SupervisedProcess<number> {
  const { paths } = opts;
  const allocator = conductorAllocator(process.env);
  log.debug({ allocator: allocator.allocator, env: allocator.env }, "conductor allocator");
  return new SupervisedProcess<number>(
    {
      name: opts.name ?? "holochain conductor",
      command: opts.holochainBinary,
      args: ["--piped", "-c", paths.conductorConfig],
      env: { ...process.env, ...allocator.env, RUST_LOG: opts.rustLog ?? process.env.RUST_LOG ?? "warn" },
      // holochain reads the lair passphrase from stdin up to the first newline.
      stdin: () => `${loadOrCreatePassphrase(paths.lairPassphrase)}\n`,
      readyWhen: (line) => {
        const port = line.match(adminPortMarker)?.[1];
        return port ? Number(port) : undefined;
      },
      readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
      logFile: join(paths.logDir, "conductor.log"),
      pidFile: join(paths.logDir, "conductor.pid"),
      stopSignal: "SIGINT",
      stopTimeoutMs: opts.stopTimeoutMs ?? 20_000,
      startFix: `read ${join(paths.logDir, "conductor.log")}; if the config is at fault, correct or delete ${paths.conductorConfig}`,
    },
    log,
  );
}
