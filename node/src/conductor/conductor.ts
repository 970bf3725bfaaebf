// The conductor supervisor: writes the config, starts `holochain --piped` with the lair
// passphrase on stdin, waits for the admin port, connects the admin and app websockets and
// installs the hApp; after a crash it restarts the conductor (with backoff) and reconnects.
// Zome calls made while it is restarting wait until it is ready again.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AdminWebsocket, type AgentPubKey, type AppWebsocket, type CellId } from "@holochain/client";
import { RippleError, TimeoutError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { NodePaths } from "../config/node-paths.ts";
import type { SupervisedProcess } from "../supervisor/supervised-process.ts";
import { connectApp, type AppConnection } from "./app-setup.ts";
import { closeClient, type ClosableClient } from "./close-client.ts";
import { daemonOrigin, writeConductorConfig } from "./conductor-config.ts";
import { conductorProcess } from "./conductor-process.ts";
import { loadOrCreatePassphrase } from "./secrets.ts";
import { isFreshConductor, primeWasmDb, removeWasmDb } from "./wasm-cache.ts";
import { ensureWasmCache } from "./wasm-cache-build.ts";

export interface ConductorOptions {
  holochainBinary: string;
  paths: NodePaths;
  bootstrapUrl: string;
  relayUrl: string;
  /** Picks the mesh: each network seed is a separate DHT. */
  networkSeed: string;
  happFile: string;
  appId?: string;
  fastGossip?: boolean;
  /** The local mesh's LAN-only timeouts (conductor-config.ts). */
  localMesh?: boolean;
  log: Logger;
  readyTimeoutMs?: number;
  callTimeoutMs?: number;
  /** How long SIGINT may take before SIGKILL (default 20 s). */
  stopTimeoutMs?: number;
  /** RUST_LOG for the conductor; its output goes to logs/conductor.log. */
  rustLog?: string;
  /**
   * On its first start, give the conductor the machine's compiled wasm instead of letting it compile
   * the hApp (wasm-cache.ts). Default: on, unless RIPPLE_WASM_CACHE=off.
   */
  wasmCache?: boolean;
}

export interface ZomeCallRequest {
  role: string;
  zome: string;
  fn: string;
  payload?: unknown;
}

export class Conductor {
  private readonly process: SupervisedProcess<number>;
  private readonly log: Logger;
  private connection: { admin: AdminWebsocket; app: AppConnection } | undefined;
  private started = false;
  /** Set by stop(): a start still priming its databases then leaves the process unstarted. */
  private stopRequested = false;
  readonly appId: string;

  constructor(private readonly opts: ConductorOptions) {
    this.log = opts.log.child({ seam: "conductor" });
    this.appId = opts.appId ?? "ripple";
    mkdirSync(opts.paths.conductorData, { recursive: true, mode: 0o700 });
    this.process = conductorProcess(
      { holochainBinary: opts.holochainBinary, paths: opts.paths, rustLog: opts.rustLog, readyTimeoutMs: opts.readyTimeoutMs, stopTimeoutMs: opts.stopTimeoutMs },
      this.log,
    );
    this.process.on("exit", () => {
      const stale = this.connection;
      this.connection = undefined;
      void closeConnection(stale);
    });
    this.process.on("restarted", (adminPort: number) => {
      this.connect(adminPort).catch((err) => this.log.error({ err }, "could not reconnect to the restarted conductor"));
    });
  }

  /** Write the config, start the conductor and make the hApp callable. */
  async start(): Promise<void> {
    const { paths } = this.opts;
    writeConductorConfig(paths.conductorConfig, {
      dataRoot: paths.conductorData,
      bootstrapUrl: this.opts.bootstrapUrl,
      relayUrl: this.opts.relayUrl,
      fastGossip: this.opts.fastGossip ?? false,
      localMesh: this.opts.localMesh ?? false,
    });
    const started = Date.now();
    this.stopRequested = false;
    await primeOnce(paths.conductorData, () => this.primeWithCompiledWasm());
    if (this.stopRequested) {
      this.log.info("stopped while starting; the conductor process is not started");
      return;
    }
    let adminPort: number;
    try {
      adminPort = await this.process.start();
      await this.connect(adminPort);
    } catch (err) {
      // A conductor that died after printing its port (or an app that would not install) must not
      // keep running and restarting under an object whose start failed.
      await this.process.stop();
      throw err;
    }
    this.started = true;
    this.log.info({ ms: Date.now() - started, adminPort }, "conductor ready");
  }

  /** A conductor's first start gets the machine's compiled wasm, so that it need not compile it. */
  private async primeWithCompiledWasm(): Promise<void> {
    const { paths } = this.opts;
    const enabled = this.opts.wasmCache ?? process.env.RIPPLE_WASM_CACHE !== "off";
    if (!enabled || !isFreshConductor(paths.conductorData)) return;
    const started = Date.now();
    try {
      const file = await ensureWasmCache({ holochainBinary: this.opts.holochainBinary, happFile: this.opts.happFile, log: this.log });
      const { pages } = await primeWasmDb(file, paths.conductorData, loadOrCreatePassphrase(paths.lairPassphrase));
      this.log.info({ ms: Date.now() - started, pages }, "conductor primed with this machine's compiled wasm, under a key of its own");
    } catch (err) {
      removeWasmDb(join(paths.conductorData, "databases"));
      this.log.warn({ err: (err as Error).message }, "no compiled wasm from the cache; the conductor compiles the hApp itself");
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    this.stopRequested = true;
    const connection = this.connection;
    this.connection = undefined;
    await closeConnection(connection);
    await this.process.stop();
  }

  private async connect(adminPort: number): Promise<void> {
    const timeoutMs = this.opts.callTimeoutMs ?? 30_000;
    const admin = await AdminWebsocket.connect({
      url: new URL(`ws://localhost:${adminPort}`),
      wsClientOptions: { origin: daemonOrigin },
      defaultTimeout: timeoutMs,
    });
    const app = await connectApp(admin, {
      appId: this.appId,
      happFile: this.opts.happFile,
      networkSeed: this.opts.networkSeed,
      credentialsFile: this.opts.paths.signingCredentials,
      log: this.log,
      timeoutMs,
    });
    this.connection = { admin, app };
  }

  /** Resolves once the conductor is up and connected (waits through a restart). */
  async ready(timeoutMs = 60_000): Promise<{ admin: AdminWebsocket; app: AppWebsocket }> {
    if (!this.started) throw new RippleError("the conductor is not started", "call start() first");
    const deadline = Date.now() + timeoutMs;
    // A stop meanwhile (a move to a new host) ends the wait at once: this conductor will not connect again.
    while (!this.connection && this.started && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!this.started) throw new RippleError("the conductor was stopped", "call start() first");
    if (!this.connection) {
      throw new TimeoutError(
        `the conductor was not ready within ${timeoutMs} ms (restarts so far: ${this.process.restarts}); last output:\n${this.process.recentOutput()}`,
        `read ${join(this.opts.paths.logDir, "conductor.log")}`,
      );
    }
    return { admin: this.connection.admin, app: this.connection.app.app };
  }

  async callZome<T>(req: ZomeCallRequest): Promise<T> {
    const { app } = await this.ready();
    const started = performance.now();
    try {
      return (await app.callZome({ role_name: req.role, zome_name: req.zome, fn_name: req.fn, payload: req.payload ?? null })) as T;
    } finally {
      // Trace level: which calls a node makes and what each costs (how idle cost was diagnosed, issue #20).
      this.log.trace({ role: req.role, fn: req.fn, ms: Math.round(performance.now() - started) }, "zome call");
    }
  }

  get agentPubKey(): AgentPubKey {
    if (!this.connection) throw new RippleError("the conductor is not connected", "await ready() first");
    return this.connection.app.appInfo.agent_pub_key;
  }

  cellId(role: string): CellId {
    const cell = this.connection?.app.cells.get(role);
    if (!cell) throw new RippleError(`no provisioned cell for role ${role}`, "check happ/happ.yaml and await ready() first");
    return cell;
  }

  /** The mesh this conductor joins (its DNAs' network seed). */
  get networkSeed(): string {
    return this.opts.networkSeed;
  }

  get restarts(): number {
    return this.process.restarts;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }
}

/**
 * One prime at a time per data directory: a conductor replaced while it was still priming (the
 * local mesh moved to another host) must not prime beside its successor, or the two would write
 * different keys under the same databases.
 */
const primesInFlight = new Map<string, Promise<void>>();

async function primeOnce(conductorData: string, prime: () => Promise<void>): Promise<void> {
  while (primesInFlight.has(conductorData)) await primesInFlight.get(conductorData);
  const p = prime().finally(() => primesInFlight.delete(conductorData));
  primesInFlight.set(conductorData, p);
  await p;
}

/** AppWebsocket types its client as a transport without close(); at run time it is a WsClient. */
async function closeConnection(connection: { admin: AdminWebsocket; app: AppConnection } | undefined): Promise<void> {
  if (!connection) return;
  await closeClient(connection.app.app.client as unknown as ClosableClient);
  await closeClient(connection.admin.client as unknown as ClosableClient);
}
