// Fills the machine's compiled-wasm cache (wasm-cache.ts) once per hApp and holochain binary: a
// throwaway conductor (its own temp directory, passphrase and agent, a network seed of its own and
// a bootstrap address on loopback where nothing listens, so it never meets a mesh) installs the
// hApp, calls one read function per DNA so that the coordinator zomes compile too, and stops; its
// wasm.db, decrypted, becomes the cache. Concurrent first starts on one machine wait for one build
// (a lock file naming the builder's pid) instead of each compiling the same wasm.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { AdminWebsocket } from "@holochain/client";
import { RippleError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { nodePaths } from "../config/node-paths.ts";
import { connectApp } from "./app-setup.ts";
import { conductorProcess } from "./conductor-process.ts";
import { daemonOrigin, writeConductorConfig } from "./conductor-config.ts";
import { lockDbKey, newDbKey } from "./db-key.ts";
import { loadOrCreatePassphrase } from "./secrets.ts";
import { DB_KEY, exportPlainWasmDb, wasmCacheFile } from "./wasm-cache.ts";
import { closeClient, type ClosableClient } from "./close-client.ts";

export interface WasmCacheOptions {
  holochainBinary: string;
  happFile: string;
  log: Logger;
  /** How long to wait for another process's build (default 6 min: longer than a lock takes to go stale). */
  waitMs?: number;
}

/** One cheap read per DNA: instantiating a coordinator zome compiles it. */
const warmUpCalls = [
  { role_name: "agent_registry", zome_name: "agent_registry", fn_name: "list_nodes", payload: null },
  { role_name: "resource_mesh", zome_name: "resource_mesh", fn_name: "list_open_jobs", payload: null },
  { role_name: "artifact_index", zome_name: "artifact_index", fn_name: "get_artifacts_by_kind", payload: "model" },
];

const unreachableBootstrap = "http://127.0.0.1:9";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** This process's pid namespace: a pid from another one (the tests' loopback namespace) says nothing here. */
function pidNamespace(): string {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return "";
  }
}

/** A build takes ~30 CPU-s; a lock this old is left by a process that died (or lives where its pid means nothing). */
const STALE_LOCK_MS = 300_000;

function tryLock(lockFile: string): boolean {
  try {
    writeFileSync(lockFile, `${process.pid} ${pidNamespace()}\n`, { flag: "wx" });
    return true;
  } catch {
    try {
      const [holder, namespace] = readFileSync(lockFile, "utf8").trim().split(" ");
      const pid = Number(holder);
      const checkable = namespace === pidNamespace() && pid > 0 && pid !== process.pid;
      const stale = checkable ? !alive(pid) : Date.now() - statSync(lockFile).mtimeMs > STALE_LOCK_MS;
      if (stale) rmSync(lockFile, { force: true });
    } catch {
      // released meanwhile: the next round takes it or finds the cache
    }
    return false;
  }
}

/**
 * Caches kept per machine: each is ~130 MB, and every change to a zome or to the holochain binary
 * makes a new one. The most recently used are kept (a use touches the file), so that a few checkouts
 * or branches side by side do not rebuild each other's.
 */
export const wasmCachesKept = 3;

/**
 * Deletes the caches in `dir` beyond the `keep` most recently used (never `current`), with their
 * SQLite side files; returns the deleted cache files.
 */
export function pruneWasmCaches(dir: string, current: string, keep = wasmCachesKept): string[] {
  const caches = readdirSync(dir)
    .filter((name) => name.endsWith(".db"))
    .map((name) => join(dir, name))
    .filter((file) => file !== current)
    .map((file) => ({ file, usedMs: statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.usedMs - a.usedMs);
  const stale = caches.slice(Math.max(0, keep - 1)).map((c) => c.file);
  for (const file of stale) for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${file}${suffix}`, { force: true });
  return stale;
}

/** The cache file, built first when this machine has none for this hApp and holochain. */
export async function ensureWasmCache(opts: WasmCacheOptions): Promise<string> {
  const file = await wasmCacheFile(opts.happFile, opts.holochainBinary);
  mkdirSync(dirname(file), { recursive: true });
  const lockFile = `${file}.lock`;
  const waitMs = opts.waitMs ?? 360_000;
  const deadline = Date.now() + waitMs;
  let announced = false;
  while (!existsSync(file)) {
    if (tryLock(lockFile)) {
      try {
        if (!existsSync(file)) await buildWasmCache(opts, file);
      } finally {
        rmSync(lockFile, { force: true });
      }
      break;
    }
    if (Date.now() > deadline) {
      throw new RippleError(`another process has been compiling the wasm cache ${file} for over ${waitMs} ms`, `delete ${lockFile} if no ripple process is running`);
    }
    if (!announced) opts.log.info({ file }, "waiting for another process to compile the hApp's wasm");
    announced = true;
    await new Promise((r) => setTimeout(r, 500));
  }
  markUsed(file);
  const pruned = pruneWasmCaches(dirname(file), file);
  if (pruned.length) opts.log.info({ pruned }, `removed compiled-wasm caches beyond the ${wasmCachesKept} most recently used`);
  return file;
}

/** A use moves the cache's mtime to now (pruneWasmCaches keeps the most recently used). */
function markUsed(file: string): void {
  const now = new Date();
  try {
    utimesSync(file, now, now);
  } catch {
    // Read-only cache directory: pruning then goes by build time.
  }
}

async function buildWasmCache(opts: WasmCacheOptions, file: string): Promise<void> {
  const started = Date.now();
  const log = opts.log.child({ seam: "wasm-cache" });
  log.info({ file }, "compiling the hApp's wasm once for this machine (a throwaway conductor; ~30 CPU-s)");
  const dir = mkdtempSync(join(tmpdir(), "rm-wasm-"));
  const paths = nodePaths(dir);
  try {
    mkdirSync(paths.logDir, { recursive: true });
    const databasesDir = join(paths.conductorData, "databases");
    mkdirSync(databasesDir, { recursive: true, mode: 0o700 });
    writeConductorConfig(paths.conductorConfig, { dataRoot: paths.conductorData, bootstrapUrl: unreachableBootstrap, relayUrl: unreachableBootstrap, fastGossip: false });
    const key = newDbKey();
    writeFileSync(join(databasesDir, DB_KEY), await lockDbKey(key, loadOrCreatePassphrase(paths.lairPassphrase)), { mode: 0o600 });
    const conductor = conductorProcess({ name: "wasm-cache conductor", holochainBinary: opts.holochainBinary, paths }, log);
    try {
      const adminPort = await conductor.start();
      const admin = await AdminWebsocket.connect({ url: new URL(`ws://localhost:${adminPort}`), wsClientOptions: { origin: daemonOrigin }, defaultTimeout: 60_000 });
      try {
        const { app } = await connectApp(admin, {
          appId: "wasm-cache",
          happFile: opts.happFile,
          networkSeed: `wasm-cache-${randomBytes(8).toString("hex")}`,
          credentialsFile: paths.signingCredentials,
          log,
          timeoutMs: 60_000,
        });
        for (const call of warmUpCalls) {
          // Only the compile matters; an empty mesh may answer with an error.
          await app.callZome(call, 30_000).catch((err: Error) => log.debug({ fn: call.fn_name, err: err.message }, "warm-up call failed"));
        }
        await closeClient(app.client as unknown as ClosableClient);
      } finally {
        await closeClient(admin.client as unknown as ClosableClient);
      }
    } finally {
      await conductor.stop();
    }
    const { pages } = await exportPlainWasmDb(databasesDir, key, file);
    log.info({ file, pages, ms: Date.now() - started }, "wasm cache ready");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
