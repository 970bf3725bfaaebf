// How a `holochain --piped` conductor process is run: its config file, the lair passphrase on
// stdin, readiness once it prints its admin port, SIGINT to stop (the only signal on which it
// shuts down cleanly). Shared by the node's conductor and the throwaway one that fills the
// compiled-wasm cache.
import { join } from "node:path";
import type { Logger } from "../log.ts";
import type { NodePaths } from "../config/node-paths.ts";
import { SupervisedProcess } from "../supervisor/supervised-process.ts";
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

/**
 * glibc gives each thread that allocates concurrently its own malloc arena (up to 8 per core), and a
 * tokio + wasmer conductor has many threads, so freed memory stays spread over arenas it is never
 * returned from. Two arenas cut an idle conductor from 435 to 356 MB RSS after 5 min (issue #22,
 * one local node, 2 cores). A value in the daemon's own environment wins.
 */
export function conductorMemoryEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? "2" };
}

/** A supervised conductor whose ready value is its admin port. */
export function conductorProcess(opts: ConductorProcessOptions, log: Logger): SupervisedProcess<number> {
  const { paths } = opts;
  return new SupervisedProcess<number>(
    {
      name: opts.name ?? "holochain conductor",
      command: opts.holochainBinary,
      args: ["--piped", "-c", paths.conductorConfig],
      env: { ...process.env, ...conductorMemoryEnv(process.env), RUST_LOG: opts.rustLog ?? process.env.RUST_LOG ?? "warn" },
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
