// The kubo seam's process half: this node's own IPFS node (`ipfs daemon`), started and kept alive
// like the conductor. Its repo lives under the mesh's data directory; the RPC API and the gateway
// listen on 127.0.0.1 only; public bootstrap peers, DHT routing, mDNS, AutoConf and telemetry are
// off (the mesh's kubo nodes find each other through the daemons, see kubo-peering.ts). On the
// `local` network the swarm is private: a swarm.key derived from the mesh's network seed, so kubo
// nodes outside the mesh cannot connect. Or an existing kubo, given by its RPC URL, is used as is.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { ProcessStartError, RippleError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { SupervisedProcess, type RestartPolicy } from "../supervisor/supervised-process.ts";

const run = promisify(execFile);

export interface KuboOptions {
  /** The pinned `ipfs` binary (toolchain). */
  ipfsBinary: string;
  /** The repo (IPFS_PATH), e.g. DATA_DIR/<network>/ipfs. */
  repoDir: string;
  /** kubo's own output is appended here. */
  logFile: string;
  /** When set, the swarm is private to the nodes that share this seed (the `local` mesh). */
  privateSwarmSeed?: string;
  /** 0 = a free port chosen once and then kept. */
  swarmPort: number;
  swarmBind: "lan" | "loopback";
  log: Logger;
  readyTimeoutMs?: number;
  restartPolicy?: RestartPolicy;
  /** Aborted when the node stops while kubo starts: the process coming up is stopped, not waited for. */
  signal?: AbortSignal;
}

/** Where this node's kubo answers. */
export interface KuboEndpoints {
  /** RPC API base URL, e.g. http://127.0.0.1:5001 */
  apiUrl: string;
  /** Gateway base URL (null for an external kubo: not known). */
  gatewayUrl: string | null;
}

/** The kubo node could not be started, configured or reached. */
export class KuboError extends RippleError {}

/** A swarm.key (libp2p pre-shared key, "PSK v1") derived from a network seed: same seed, same key. */
export function swarmKeyFor(networkSeed: string): string {
  const key = createHash("sha256").update(`ripple-mesh kubo swarm key v1\n${networkSeed}`).digest("hex");
  return `/key/swarm/psk/1.0.0/\n/base16/\n${key}\n`;
}

/** A multiaddr such as /ip4/127.0.0.1/tcp/5001 as an http URL. */
export function multiaddrToHttpUrl(addr: string): string {
  const m = /^\/ip([46])\/([^/]+)\/tcp\/(\d+)/.exec(addr.trim());
  if (!m) throw new KuboError(`kubo reported an address that is not /ip4|ip6/HOST/tcp/PORT: ${addr}`, "check the kubo version against manifests/holochain/versions.json");
  const host = m[1] === "6" ? `[${m[2]}]` : m[2]!;
  return `http://${host}:${m[3]}`;
}

export async function freeTcpPort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The config keys this node sets on every start (everything else stays as `ipfs init --profile=test` made it). */
export function meshKuboConfig(config: Record<string, any>, p: { apiPort: number; gatewayPort: number; swarmPort: number; swarmBind: "lan" | "loopback" }): Record<string, any> {
  const c = structuredClone(config);
  const host = p.swarmBind === "lan" ? "0.0.0.0" : "127.0.0.1";
  c.Addresses = { ...(c.Addresses ?? {}), API: `/ip4/127.0.0.1/tcp/${p.apiPort}`, Gateway: `/ip4/127.0.0.1/tcp/${p.gatewayPort}`, Swarm: [`/ip4/${host}/tcp/${p.swarmPort}`] };
  c.Bootstrap = [];
  c.AutoConf = { ...(c.AutoConf ?? {}), Enabled: false };
  c.Discovery = { ...(c.Discovery ?? {}), MDNS: { Enabled: false } };
  // No DHT: content moves between the mesh's kubo nodes, which peer with each other directly.
  c.Routing = { ...(c.Routing ?? {}), Type: "none" };
  // A private network (swarm.key) works over TCP only; keep one transport everywhere for simplicity.
  c.Swarm = { ...(c.Swarm ?? {}) };
  c.Swarm.Transports = { ...(c.Swarm.Transports ?? {}) };
  c.Swarm.Transports.Network = { ...(c.Swarm.Transports.Network ?? {}), QUIC: false, WebTransport: false, WebRTCDirect: false, Websocket: false, TCP: true };
  c.Swarm.DisableNatPortMap = true;
  c.Gateway = { ...(c.Gateway ?? {}), NoFetch: true };
  // Serving models: bitswap's default of 1 MiB outstanding per peer keeps a single 1 MiB block in
  // flight to each puller at a time; allow a window of blocks so a pull is not bound by round trips.
  c.Internal = { ...(c.Internal ?? {}) };
  c.Internal.Bitswap = { ...(c.Internal.Bitswap ?? {}), MaxOutstandingBytesPerPeer: 32 * 1024 * 1024 };
  c.Plugins = { ...(c.Plugins ?? {}), Plugins: { ...(c.Plugins?.Plugins ?? {}), telemetry: { Config: { Mode: "off" } } } };
  return c;
}

interface Pending {
  api?: string;
  gateway?: string;
}

export class KuboNode extends EventEmitter {
  private endpointsNow: KuboEndpoints;

  private constructor(
    endpoints: KuboEndpoints,
    private readonly proc: SupervisedProcess<KuboEndpoints> | undefined,
    private readonly log: Logger,
    readonly repoDir: string | null,
  ) {
    super();
    this.endpointsNow = endpoints;
    proc?.on("restarted", (e: KuboEndpoints) => {
      this.endpointsNow = e;
      this.log.info({ ...e, restarts: proc.restarts }, "kubo restarted");
      this.emit("restarted", e);
    });
    proc?.on("exit", (e: unknown) => this.emit("exit", e));
  }

  get endpoints(): KuboEndpoints {
    return this.endpointsNow;
  }

  get pid(): number | null {
    return this.proc?.pid ?? null;
  }

  get restarts(): number {
    return this.proc?.restarts ?? 0;
  }

  get supervised(): boolean {
    return this.proc !== undefined;
  }

  /** Whether kubo is up now (a supervised one between a crash and its restart is not). */
  get up(): boolean {
    return this.proc ? this.proc.pid !== undefined : true;
  }

  /** An existing kubo (`ripple up --ipfs-api URL`): checked once, never started or stopped by us. */
  static async external(apiUrl: string, log: Logger): Promise<KuboNode> {
    const url = apiUrl.replace(/\/+$/, "");
    try {
      const res = await fetch(`${url}/api/v0/id`, { method: "POST", signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      throw new KuboError(`no kubo RPC API answers at ${url} (${(err as Error).message})`, "start that kubo (`ipfs daemon`), or leave out --ipfs-api so that the node runs its own", { cause: err });
    }
    log.child({ seam: "kubo" }).info({ apiUrl: url }, "using an existing kubo node");
    return new KuboNode({ apiUrl: url, gatewayUrl: null }, undefined, log, null);
  }

  /** Init the repo once, write this node's config, start `ipfs daemon` and wait until it is ready. */
  static async start(opts: KuboOptions): Promise<KuboNode> {
    const log = opts.log.child({ seam: "kubo" });
    if (!existsSync(opts.ipfsBinary)) {
      throw new KuboError(`kubo's \`ipfs\` binary is missing (${opts.ipfsBinary})`, "run `npm run setup` to install the pinned toolchain, or pass --ipfs-api URL to use a running kubo");
    }
    const env = { ...process.env, IPFS_PATH: opts.repoDir, IPFS_TELEMETRY: "off", ...(opts.privateSwarmSeed ? { LIBP2P_FORCE_PNET: "1" } : {}) };
    await initRepo(opts, env, log);
    let ports = await configure(opts);
    for (let attempt = 1; ; attempt++) {
      const proc = kuboProcess(opts, env, log);
      const stop = () => void proc.stop();
      opts.signal?.addEventListener("abort", stop, { once: true });
      try {
        if (opts.signal?.aborted) throw new ProcessStartError("kubo was stopped before it started", "start the node again when you want it running");
        const endpoints = await proc.start();
        if (opts.signal?.aborted) {
          await proc.stop();
          throw new ProcessStartError("kubo was stopped while it started", "start the node again when you want it running");
        }
        log.info({ ...endpoints, swarmPort: ports.swarmPort, private: Boolean(opts.privateSwarmSeed), pid: proc.pid, repo: opts.repoDir }, "kubo ready");
        return new KuboNode(endpoints, proc, log, opts.repoDir);
      } catch (err) {
        // Another process can take a chosen port between our check and kubo's bind: choose again.
        if (attempt < 3 && /address already in use/.test((err as Error).message)) {
          log.warn({ attempt, ports }, "a port chosen for kubo was taken before kubo bound it; choosing new ones");
          ports = await configure(opts, true);
          continue;
        }
        if (err instanceof ProcessStartError) throw err;
        throw new KuboError(`kubo did not start: ${(err as Error).message}`, `see ${opts.logFile}`, { cause: err });
      } finally {
        opts.signal?.removeEventListener("abort", stop);
      }
    }
  }

  /** Resolves once kubo is up (at once when it is), or rejects after timeoutMs / on abort. */
  async whenUp(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.up) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.off("restarted", onUp);
        signal?.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onUp = () => done();
      const onAbort = () => done(signal!.reason instanceof Error ? signal!.reason : new Error("aborted"));
      const timer = setTimeout(() => done(new KuboError(`kubo did not come back within ${timeoutMs} ms`, "see the kubo log in DATA_DIR/<network>/logs/kubo.log")), timeoutMs);
      this.on("restarted", onUp);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }
}

/** The supervised `ipfs daemon`, ready once it prints its RPC address (read back, not assumed). */
function kuboProcess(opts: KuboOptions, env: NodeJS.ProcessEnv, log: Logger): SupervisedProcess<KuboEndpoints> {
  let pending: Pending = {};
  return new SupervisedProcess<KuboEndpoints>(
    {
      name: "kubo",
      command: opts.ipfsBinary,
      args: () => {
        pending = {}; // each start reads its own addresses back
        return ["daemon", "--enable-gc=false", "--migrate=false"];
      },
      env,
      readyWhen: (line) => {
        const api = /RPC API server listening on (\S+)/.exec(line);
        if (api) pending.api = api[1];
        const gw = /Gateway server listening on (\S+)/.exec(line);
        if (gw) pending.gateway = gw[1];
        if (!/Daemon is ready/.test(line) || !pending.api) return undefined;
        return { apiUrl: multiaddrToHttpUrl(pending.api), gatewayUrl: pending.gateway ? multiaddrToHttpUrl(pending.gateway) : null };
      },
      readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
      logFile: opts.logFile,
      stopSignal: "SIGINT",
      stopTimeoutMs: 10_000,
      startFix: `see ${opts.logFile}; if the repo is damaged, move ${opts.repoDir} aside (pinned content is fetched again from peers)`,
      pidFile: join(opts.repoDir, "ripple-kubo.pid"),
    },
    log,
    opts.restartPolicy,
  );
}

async function initRepo(opts: KuboOptions, env: NodeJS.ProcessEnv, log: Logger): Promise<void> {
  if (existsSync(join(opts.repoDir, "config"))) return;
  mkdirSync(opts.repoDir, { recursive: true, mode: 0o700 });
  try {
    // The test profile is the quiet base we want (loopback, no bootstrap, no mDNS); configure() opens what the mesh needs.
    await run(opts.ipfsBinary, ["init", "--profile=test", "--empty-repo"], { env, timeout: 60_000 });
  } catch (err) {
    throw new KuboError(`\`ipfs init\` failed for ${opts.repoDir}: ${(err as Error).message}`, `check that ${opts.repoDir} is writable, or move it aside`, { cause: err });
  }
  log.info({ repo: opts.repoDir }, "initialised a kubo repo");
}

/**
 * Fixed ports (chosen free once, kept across restarts so peers' peering entries stay valid).
 * `fresh` drops the kept ones (after a start failed because one was taken meanwhile).
 */
async function configure(opts: KuboOptions, fresh = false): Promise<{ apiPort: number; gatewayPort: number; swarmPort: number }> {
  const file = join(opts.repoDir, "config");
  const config = JSON.parse(readFileSync(file, "utf8")) as Record<string, any>;
  const portOf = (addr: unknown) => (fresh ? 0 : Number(/\/tcp\/(\d+)/.exec(String(addr ?? ""))?.[1] ?? 0));
  const ports = new DistinctPorts(opts.swarmPort > 0 ? [opts.swarmPort] : []);
  const apiPort = await ports.keepOrPick(portOf(config.Addresses?.API));
  const gatewayPort = await ports.keepOrPick(portOf(config.Addresses?.Gateway));
  const swarmPort = opts.swarmPort > 0 ? opts.swarmPort : await ports.keepOrPick(portOf(config.Addresses?.Swarm?.[0]));
  const next = meshKuboConfig(config, { apiPort, gatewayPort, swarmPort, swarmBind: opts.swarmBind });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(next, null, 2));
  renameSync(tmp, file);
  const keyFile = join(opts.repoDir, "swarm.key");
  if (opts.privateSwarmSeed) writeFileSync(keyFile, swarmKeyFor(opts.privateSwarmSeed), { mode: 0o600 });
  else rmSync(keyFile, { force: true });
  return { apiPort, gatewayPort, swarmPort };
}

/**
 * Hands out ports that are free now and differ from each other: two back-to-back `freeTcpPort()`
 * calls can return the same port (CI once gave the API and the swarm one port, and kubo failed).
 */
class DistinctPorts {
  private readonly taken: Set<number>;
  constructor(reserved: number[]) {
    this.taken = new Set(reserved);
  }

  async keepOrPick(current: number): Promise<number> {
    let port = current > 0 && !this.taken.has(current) && (await portFree(current)) ? current : 0;
    while (port === 0 || this.taken.has(port)) port = await freeTcpPort();
    this.taken.add(port);
    return port;
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
