// Writes the Holochain 0.7 conductor config. The daemon owns the keys that wire the conductor into
// the node (data path, keystore, admin interface, network); any other key a person set in an
// existing file is kept. An existing file that is not valid YAML or has unknown keys is an error
// that names the file, rather than something silently overwritten.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { ConductorConfigError } from "../errors.ts";

/** The only Origin the admin and app websockets accept; the daemon sends it on every connection. */
export const daemonOrigin = "ripple-mesh-daemon";

/**
 * Gossip fast enough for tests and a local mesh (the defaults initiate every 2 minutes), issue #20:
 * - a round every 5 s. New data travels by publish (see coreBootstrap below); gossip catches up what
 *   a publish missed. A round every second cost an idle conductor 20.8% of a core in a 3-node mesh,
 *   every 5 s 8.0%, and joins were no slower;
 * - a round times out after 3 s. kitsune2 runs one initiated round at a time and picks the least
 *   recently gossiped peer: right after a peer dies, that is the dead peer, and over a connection
 *   that has not noticed the death yet the round waits for its timeout (checked every 5 s) while no
 *   other round starts. A round on a LAN is a few small messages; fetching the ops it found happens
 *   outside it.
 */
export const fastGossip = {
  k2Gossip: { initiateIntervalMs: 5000, initiateJitterMs: 500, minInitiateIntervalMs: 1000, roundTimeoutMs: 3_000 },
  // A joiner's first publishes (its capability among them) are dropped by every node that has not
  // yet read its agent info from the bootstrap server (kitsune2 drops messages from a peer URL it has
  // no access decision for), and only gossip brings them later, after the joiner's initial sync. So
  // the bootstrap server is read every second, not every 5 s.
  coreBootstrap: { backoffMinMs: 1000, backoffMaxMs: 1000 },
};

/**
 * Validation retries on fast-gossip networks. An op whose dependency has not arrived yet (a link
 * before the record it points at, which gossip delivers in any order) waits for the next sys
 * validation run, 10 s later by default; a new node's capability link was listed 10 s after the
 * record had arrived. Holochain reads a Duration as {secs, nanos}, and the struct needs
 * disable_self_validation when given at all.
 */
export const fastValidationRetry = { sys_validation_retry_delay: { secs: 1, nanos: 0 }, disable_self_validation: false };

/**
 * Dead peers (issue #20). A SIGKILLed agent's signed info stays in every peer store and at the
 * bootstrap server until it expires (kitsune2 signs infos for 20 minutes; no admin call removes or
 * blocks one). A node that has not yet failed to reach that agent (one that just joined, or one
 * whose connection to it has not timed out) dials it when it publishes or gossips, and kitsune2's
 * publish queue sends one message at a time while its gossip loop waits for the round it is
 * initiating: every dial of a dead peer holds all later publishes and rounds until the iroh connect
 * timeout, after which the URL is marked unresponsive and skipped. Holochain derives that timeout
 * from `request_timeout_s` (3/8 of it, overwriting `irohTransport.connectTimeoutS`): 22 s by default,
 * so a new node's capability took ~47–52 s to reach the mesh with two dead peers. 8 s gives a 3 s
 * connect timeout (a relay connect on a LAN takes milliseconds) and bounds a network get or remote
 * call that picked a dead authority to 8 s instead of 60 s.
 */
export const deadPeerTimeouts = { request_timeout_s: 8 };

/**
 * The local mesh (one LAN or one machine) cuts that to 4 s (a 1 s connect timeout). A viewer keeps
 * its QUIC connection to a SIGKILLed peer for iroh's 60 s idle timeout, so a network get that
 * picks the dead peer waits out the whole request timeout; sys validation awaits such a get for a
 * missing chain dependency, and every other op waits behind it: a joiner's capability was
 * validated 8 s after it arrived (conductor logs, issue #20). On a LAN a request answers in
 * milliseconds; testnet (over the internet, relayed) keeps 8 s, since a connect that times out marks
 * a live peer unresponsive until its agent info expires.
 */
export const localMeshTimeouts = { request_timeout_s: 4 };

// Top-level keys of `holochain --config-schema` (0.7.0). Holochain itself rejects unknown keys.
const conductorConfigSchema = z.strictObject({
  tracing_override: z.unknown().optional(),
  wasm_backend: z.unknown().optional(),
  data_root_path: z.string().optional(),
  keystore: z.unknown().optional(),
  admin_interfaces: z.unknown().optional(),
  network: z.record(z.string(), z.unknown()).optional(),
  db_sync_level: z.unknown().optional(),
  db_max_readers: z.number().int().min(2, "Holochain needs at least 2").optional(),
  incoming_request_concurrency_limit: z.number().int().positive().optional(),
  restore_chain_quorum: z.unknown().optional(),
  tuning_params: z.record(z.string(), z.unknown()).optional(),
  tracing_scope: z.unknown().optional(),
});

export type ConductorConfig = z.infer<typeof conductorConfigSchema>;

export interface ConductorConfigInput {
  dataRoot: string;
  bootstrapUrl: string;
  relayUrl: string;
  fastGossip: boolean;
  /** The local mesh (no configured relay): LAN-only timeouts. */
  localMesh?: boolean;
}

/** The keys the daemon owns, freshly computed on every start. */
export function ownedConfig(input: ConductorConfigInput): ConductorConfig {
  return {
    data_root_path: input.dataRoot,
    keystore: { type: "lair_server_in_proc" },
    admin_interfaces: [{ driver: { type: "websocket", port: 0, allowed_origins: daemonOrigin } }],
    network: {
      bootstrap_url: input.bootstrapUrl,
      relay_url: input.relayUrl,
      ...(input.fastGossip ? deadPeerTimeouts : {}),
      ...(input.localMesh ? localMeshTimeouts : {}),
      advanced: {
        // The local bootstrap/relay server speaks plain HTTP on loopback or the LAN.
        irohTransport: { relayAllowPlainText: true },
        ...(input.fastGossip ? fastGossip : {}),
      },
    },
  };
}

/** Read and validate an existing config file; undefined when there is none. */
export function readConductorConfig(file: string): ConductorConfig | undefined {
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new ConductorConfigError(file, `not valid YAML (${(cause as Error).message.split("\n")[0]})`, { cause });
  }
  const parsed = conductorConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.join(".") || (issue.code === "unrecognized_keys" ? issue.keys.join(", ") : "(top level)");
    throw new ConductorConfigError(file, `key ${key}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Defaults the daemon sets unless the file says otherwise (a person's value wins). Holochain keeps
 * db_max_readers read connections per database (default max(2 × CPUs, 8)), each with its own SQLite
 * page cache, over a dozen databases per node. 2 readers cut an idle conductor from 435 to 407 MB
 * RSS after 5 min (with MALLOC_ARENA_MAX=2 as well: 356 to 324 MB; issue #22, one local node, 2 cores).
 */
export const memoryDefaults: ConductorConfig = { db_max_readers: 2 };

/**
 * Merge the owned keys over the existing file (if any) and write it. Tuning params are merged key by
 * key: fast-gossip networks get a short validation retry unless the file sets one (a rogue test node
 * sets disable_self_validation, which must survive).
 */
export function writeConductorConfig(file: string, input: ConductorConfigInput): ConductorConfig {
  const existing = readConductorConfig(file) ?? {};
  const tuning = { ...(input.fastGossip ? fastValidationRetry : {}), ...(existing.tuning_params ?? {}) };
  const config = { ...memoryDefaults, ...existing, ...(Object.keys(tuning).length ? { tuning_params: tuning } : {}), ...ownedConfig(input) };
  writeFileSync(file, stringify(config), { mode: 0o600 });
  return config;
}
