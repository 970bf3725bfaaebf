// `ripple up`: run this machine's node in the foreground until Ctrl-C / SIGTERM / `ripple down`.
import { signalChildren } from "../../daemon/child-processes.ts";
import type { Command } from "commander";
import { hostname } from "node:os";
import { readPreferences } from "../../config/node-preferences.ts";
import { assertPortFree } from "../../config/port-check.ts";
import { createLogger } from "../../log.ts";
import { milliseconds, nodeName, port } from "../options.ts";
import { fail, globalOptions, printErr } from "../run.ts";
import type { NatsSettings } from "../../nats/nats-settings.ts";

interface UpOptions {
  network?: string;
  name: string;
  bootstrap?: string;
  apiHost?: string;
  apiPort?: number;
  p2pPort?: number;
  livenessWindow?: number;
  heartbeatInterval?: number;
  measure: boolean;
  computePolicy?: string;
  inferencePolicy?: string;
  ipfsApi?: string;
  ipfsSwarmPort?: number;
  storagePolicy?: string;
  nats?: string;
}

/** How long a clean stop may take before the node kills its children and exits anyway. */
const stopDeadlineMs = 60_000;

export function upCommand(program: Command): void {
  program
    .command("up")
    .description("start this machine's node and join a mesh (runs until Ctrl-C or `ripple down`)")
    .option("--network <name>", "local | testnet | mainnet (default: the last `ripple join`, else local)")
    .option("--name <name>", "the name peers see", nodeName, hostname().slice(0, 64) || "ripple-node")
    .option("--bootstrap <url>", "bootstrap/relay server URL (overrides the network's; required for testnet/mainnet)")
    .option("--api-host <host>", "address of the local API; anything but loopback needs RIPPLE_API_TOKEN")
    .option("--api-port <port>", "port of the local API (default: any free port)", port)
    .option("--p2p-port <port>", "libp2p TCP port (default: any free port)", port)
    .option("--liveness-window <ms>", "a peer silent this long shows as offline (default: the network's)", milliseconds(2000, 3_600_000))
    .option("--heartbeat-interval <ms>", "how often this node writes a heartbeat (default: the network's)", milliseconds(1000, 600_000))
    .option("--no-measure", "skip measuring tokens/s on the default model at start")
    .option("--compute-policy <file>", "what this node runs for others (default: DATA_DIR/compute_policy.yaml, else manifests/distributed/compute_policy.yaml)")
    .option("--inference-policy <file>", "how this node runs MOE jobs (default: manifests/distributed/inference_policy.yaml)")
    .option("--ipfs-api <url>", "use this running kubo's RPC API (e.g. http://127.0.0.1:5001) instead of starting the node's own")
    .option("--ipfs-swarm-port <port>", "kubo swarm TCP port (default: the storage policy's; 0 = a free port kept across restarts)", port)
    .option("--storage-policy <file>", "IPFS storage policy (default: DATA_DIR/storage_policy.yaml, else manifests/distributed/storage_policy.yaml)")
    .option("--nats <url>", "publish events and take MOE/ask submissions on NATS: nats://HOST:PORT, or `local` to start a nats-server on 127.0.0.1 (beyond loopback needs RIPPLE_NATS_TOKEN or RIPPLE_NATS_NKEY_SEED)")
    .action(async (opts: UpOptions, cmd: Command) => {
      const { dataDir } = globalOptions(cmd);
      const log = createLogger("ripple");
      // Checked before anything starts or connects: a NATS server beyond loopback needs credentials.
      let nats: NatsSettings | undefined;
      if (opts.nats !== undefined) {
        const { natsSettings } = await import("../../nats/nats-settings.ts");
        try {
          nats = natsSettings(opts.nats, process.env);
        } catch (err) {
          fail(err);
        }
      }
      const prefs = readPreferences(dataDir);
      if (opts.p2pPort) await assertPortFree("0.0.0.0", opts.p2pPort, "--p2p-port");
      // Loaded here so that the light commands (status, peers, …) do not pay for the daemon's imports.
      const { Daemon } = await import("../../daemon/daemon.ts");
      const daemon = new Daemon({
        dataDir,
        name: opts.name,
        log,
        network: opts.network ?? prefs?.network ?? "local",
        ...defined({ bootstrapUrl: opts.bootstrap ?? (opts.network ? undefined : prefs?.bootstrapUrl) }),
        ...defined({ apiHost: opts.apiHost, apiPort: opts.apiPort, apiToken: process.env.RIPPLE_API_TOKEN, p2pPort: opts.p2pPort }),
        ...defined({ livenessWindowMs: opts.livenessWindow, heartbeatIntervalMs: opts.heartbeatInterval }),
        measureTokens: opts.measure,
        ...defined({ computePolicyFile: opts.computePolicy, inferencePolicyFile: opts.inferencePolicy }),
        ...defined({ ipfsApiUrl: opts.ipfsApi, ipfsSwarmPort: opts.ipfsSwarmPort, storagePolicyFile: opts.storagePolicy }),
        ...defined({ nats }),
        ...defined({ binDir: process.env.RIPPLE_BIN_DIR }),
      });

      let stopping = false;
      const shutdown = async (reason: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal: reason }, "shutting down");
        // A stop that hangs (a zome call or child that never answers) must not keep the node up:
        // past the deadline the daemon kills its own children and exits with an error naming the step.
        setTimeout(() => {
          const killed = signalChildren("SIGKILL");
          log.error({ step: daemon.stopStep, killedChildren: killed, fix: "report this with the log above; the node's data is safe (every write is committed or queued on disk)" }, `stopping took more than ${stopDeadlineMs / 1000} s; exiting anyway`);
          process.exit(1);
        }, stopDeadlineMs).unref();
        await daemon.stop();
        process.exit(0);
      };
      process.on("SIGINT", () => void shutdown("SIGINT"));
      process.on("SIGTERM", () => void shutdown("SIGTERM"));
      daemon.onShutdownRequest = () => void shutdown("ripple down");

      try {
        const status = await daemon.start();
        log.info({ node: status }, `node running on the ${status.network} mesh; Ctrl-C stops it`);
        printErr(`ripple: ${status.name} is up on ${status.network} (API ${status.api}); \`ripple status\` and \`ripple peers\` show the mesh\n`);
        if (status.api) printErr(`ripple: web UI at ${status.api}/ (peers, shards, jobs, console)\n`);
      } catch (err) {
        // A Ctrl-C / SIGTERM during start ends the start with NodeStoppedError: shutdown() exits.
        if (stopping) return;
        await daemon.stop().catch(() => {});
        fail(err);
      }
    });
}

/** Drops undefined values: the daemon's options must not receive keys set to undefined. */
function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
