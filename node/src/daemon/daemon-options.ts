// What a Daemon is started with, and the refusal to start a second node on one data directory.
import { readApiDescriptor } from "../api/api-descriptor.ts";
import { RippleError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { NatsSettings } from "../nats/nats-settings.ts";

export interface DaemonOptions {
  dataDir: string;
  name: string;
  log: Logger;
  binDir?: string;
  network?: string;
  /** Replaces the network's configured bootstrap/relay URL (required for testnet/mainnet until operators publish theirs). */
  bootstrapUrl?: string;
  apiHost?: string;
  apiPort?: number;
  apiToken?: string;
  /** libp2p TCP port (0 = any free one). */
  p2pPort?: number;
  livenessWindowMs?: number;
  heartbeatIntervalMs?: number;
  /** Skip the measured tokens/s (tests that do not need it start faster). */
  measureTokens?: boolean;
  /** Compute policy file (default: DATA_DIR/compute_policy.yaml when present, else the manifest's). */
  computePolicyFile?: string;
  /** Inference (MOE) policy file (default: manifests/distributed/inference_policy.yaml). */
  inferencePolicyFile?: string;
  /** Use this kubo RPC API instead of starting the node's own kubo. */
  ipfsApiUrl?: string;
  /** kubo swarm TCP port (overrides the storage policy's). */
  ipfsSwarmPort?: number;
  /** Storage policy file (default: DATA_DIR/storage_policy.yaml when present, else the manifest's). */
  storagePolicyFile?: string;
  /** How often the daemon hands freed native memory back to the OS (ms; default 15 s; 0: once, after start-up). */
  heapTrimIntervalMs?: number;
  /** The NATS event bus (`--nats`, checked by natsSettings()); off when unset. */
  nats?: NatsSettings;
}

export class AlreadyRunningError extends RippleError {}

/** Throws AlreadyRunningError while another node's API descriptor is in `dataDir`. */
export async function assertNoDaemonRunning(dataDir: string): Promise<void> {
  const running = await readApiDescriptor(dataDir).catch(() => undefined);
  if (running) {
    throw new AlreadyRunningError(
      `a node is already running for ${dataDir} (pid ${running.pid}, API ${running.url})`,
      "stop it with `ripple down`, or start this one with another --data-dir",
    );
  }
}
