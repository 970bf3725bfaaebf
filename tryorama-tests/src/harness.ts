// Our own multi-conductor scenario harness (tryorama 0.19 targets Holochain 0.6): real
// `kitsune2-bootstrap-srv` and `holochain` processes driven by the daemon's own supervisors, each
// node in its own temporary data directory, with a wait helper that prints what every node saw
// when it times out.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { afterAll } from "vitest";
import { join } from "node:path";
import { encodeHashToBase64 } from "@holochain/client";
import { BootstrapServer } from "@ripple-mesh/node/src/bootstrap/bootstrap-server.ts";
import { Conductor } from "@ripple-mesh/node/src/conductor/conductor.ts";
import { nodePaths } from "@ripple-mesh/node/src/config/node-paths.ts";
import { checkToolchain, type Toolchain } from "@ripple-mesh/node/src/config/toolchain.ts";
import { createLogger } from "@ripple-mesh/node/src/log.ts";
import { happFile, rogueHappFile } from "@ripple-mesh/node/src/config/paths.mjs";
import { capabilityDraft, type DraftInput } from "@ripple-mesh/node/src/capability/capability-draft.ts";
import { loadOrCreateLibp2pKey } from "@ripple-mesh/node/src/identity/libp2p-key.ts";
import { agentRegistry, artifactIndex, resourceMesh, type CapabilityDraft, type ZomeCaller } from "@ripple-mesh/zome-bindings";
import { waitFor } from "@ripple-mesh/node/test/support/wait-for.ts";

export { waitFor };

/**
 * Everything a scenario started, stopped after its file even when a hook timed out before the test
 * got hold of it (a timed-out beforeAll once left three conductors running into the next files).
 */
const running = new Set<{ stop(): Promise<unknown> }>();
// Only under vitest: the benches (tryorama-tests/bench/) import this harness too, and stop their own nodes.
if (process.env.VITEST) {
  afterAll(async () => {
    await Promise.all([...running].map((p) => p.stop().catch(() => {})));
    running.clear();
  }, 60_000);
}

export const log = createLogger("scenario", process.env.RIPPLE_LOG_LEVEL ?? "warn");

/** Short paths: the in-process lair socket must stay under 108 bytes. */
export function tempDir(prefix = "rm-"): string {
  return mkdtempSync(join("/tmp", prefix));
}

export function toolchain(): Promise<Toolchain> {
  return checkToolchain({ only: ["holochain", "kitsune2-bootstrap-srv"] });
}

export async function startBootstrap(tc: Toolchain, logDir: string): Promise<BootstrapServer> {
  const server = new BootstrapServer({ binary: tc.path("kitsune2-bootstrap-srv"), logDir, log });
  running.add(server);
  await server.start();
  return server;
}

export interface TestNode {
  name: string;
  dataDir: string;
  conductor: Conductor;
  registry: ReturnType<typeof agentRegistry>;
  mesh: ReturnType<typeof resourceMesh>;
  artifacts: ReturnType<typeof artifactIndex>;
  /** Raw zome calls, e.g. to a rogue node's forging functions. */
  call: ZomeCaller["callZome"];
}

export function makeNode(tc: Toolchain, name: string, dataDir: string, bootstrapUrl: string, networkSeed: string, happ = happFile): TestNode {
  const conductor = new Conductor({
    holochainBinary: tc.path("holochain"),
    paths: nodePaths(dataDir),
    bootstrapUrl,
    relayUrl: bootstrapUrl,
    networkSeed,
    happFile: happ,
    fastGossip: true,
    // A conductor that skips self-validation can take long to stop; tests need not wait for it.
    stopTimeoutMs: 5_000,
    log: log.child({ node: name }),
  });
  running.add(conductor);
  return {
    name,
    dataDir,
    conductor,
    registry: agentRegistry(conductor),
    mesh: resourceMesh(conductor),
    artifacts: artifactIndex(conductor),
    call: (req) => conductor.callZome(req),
  };
}

/**
 * Start a node. A `rogue` node runs with `disable_self_validation: true` and the rogue hApp (our
 * integrity zomes, forging coordinators from dnas/rogue): it commits and publishes what its own
 * integrity zome would reject, as a modified peer could; honest peers must reject it.
 */
export async function startNode(tc: Toolchain, name: string, bootstrapUrl: string, networkSeed: string, opts: { rogue?: boolean } = {}): Promise<TestNode> {
  const dataDir = tempDir(`rm-${name}-`);
  if (opts.rogue) writeFileSync(nodePaths(dataDir).conductorConfig, "tuning_params:\n  disable_self_validation: true\n");
  const node = makeNode(tc, name, dataDir, bootstrapUrl, networkSeed, opts.rogue ? rogueHappFile : happFile);
  await node.conductor.start();
  return node;
}

/** Conductors install the hApp one after another (~10–20 s each alone, far more on a loaded 2-core machine). */
export const startMeshTimeoutMs = 300_000;

export interface Mesh {
  bootstrap: BootstrapServer;
  nodes: TestNode[];
  /** The network seed, to restart a node on the same DHT (makeNode with its dataDir). */
  seed: string;
}

/** A bootstrap/relay server and one node per spec, all on a fresh network seed (their own DHT). */
export async function startMesh(seedPrefix: string, specs: Array<{ name: string; rogue?: boolean }>): Promise<Mesh> {
  const tc = await toolchain();
  const bootstrap = await startBootstrap(tc, tempDir());
  const seed = `${seedPrefix}-${Date.now()}`;
  const nodes: TestNode[] = [];
  for (const spec of specs) nodes.push(await startNode(tc, spec.name, bootstrap.url, seed, { rogue: spec.rogue ?? false }));
  return { bootstrap, nodes, seed };
}

export async function stopAll(nodes: TestNode[], bootstrap?: BootstrapServer, removeData = true): Promise<void> {
  await Promise.all(nodes.map((n) => n.conductor.stop().catch(() => {})));
  await bootstrap?.stop();
  if (removeData) for (const n of nodes) rmSync(n.dataDir, { recursive: true, force: true });
}

/** Each node's view of the network (agent infos: who it knows, with URL and arc), for diagnostics. */
export async function describeNodes(nodes: TestNode[]): Promise<string> {
  const lines: string[] = [];
  for (const n of nodes) {
    try {
      const { admin } = await n.conductor.ready(5_000);
      const infos = (await admin.agentInfo({ dna_hashes: null })).map((i) => {
        const parsed = JSON.parse(JSON.parse(i).agentInfo) as { agent: string; url?: string | null; storageArc?: unknown };
        return `${parsed.agent.slice(0, 12)} url=${parsed.url ?? "null"} arc=${JSON.stringify(parsed.storageArc)}`;
      });
      const caps = await n.registry.listCapabilities().catch((e: Error) => `error: ${e.message}`);
      const capNames = Array.isArray(caps) ? caps.map((c) => c.capability.agent_name).join(",") : caps;
      lines.push(`${n.name} (${encodeHashToBase64(n.conductor.agentPubKey).slice(0, 12)}): agent infos [${infos.join("; ")}]; capabilities [${capNames}]`);
    } catch (err) {
      lines.push(`${n.name}: unavailable (${(err as Error).message})`);
    }
  }
  return lines.join("\n");
}

/** Whether `value` holds, anywhere inside it, a byte array equal to `hash`. */
function mentions(value: unknown, hash: Uint8Array): boolean {
  if (value instanceof Uint8Array) return value.length === hash.length && value.every((b, i) => b === hash[i]);
  if (value === null || typeof value !== "object") return false;
  return Object.values(value).some((v) => mentions(v, hash));
}

/**
 * The DHT ops `node` still has waiting for validation or integration in `role`'s cell that refer to
 * `hash` (as an action, entry, base or link target), from the conductor's own state dump.
 */
export async function opsPendingAbout(node: TestNode, role: string, hash: Uint8Array): Promise<string[]> {
  const { admin } = await node.conductor.ready(5_000);
  const dump = await admin.dumpFullState({ cell_id: node.conductor.cellId(role) });
  const { validation_limbo, integration_limbo } = dump.integration_dump;
  const about = (ops: unknown[], stage: string) => ops.filter((op) => mentions(op, hash)).map((op) => `${stage}: ${opKind(op)}`);
  return [...about(validation_limbo, "validation limbo"), ...about(integration_limbo, "integration limbo")];
}

/** "ChainOp RegisterAddLink CreateLink": the op's variant names and its action's type. */
function opKind(op: unknown): string {
  const names: string[] = [];
  let at: unknown = op;
  while (at && typeof at === "object" && !Array.isArray(at) && Object.keys(at).length === 1) {
    const key = Object.keys(at)[0]!;
    names.push(key);
    at = (at as Record<string, unknown>)[key];
  }
  const action = Array.isArray(at) ? at.find((v) => v && typeof v === "object" && "type" in v) : undefined;
  return [...names, (action as { type?: string } | undefined)?.type ?? JSON.stringify(at).slice(0, 80)].join(" ");
}

/** A valid capability draft for `node` (its own libp2p key, kept in its data dir). */
export async function capabilityOf(node: TestNode, extra: Partial<DraftInput> = {}): Promise<CapabilityDraft> {
  const libp2pKey = await loadOrCreateLibp2pKey(nodePaths(node.dataDir).libp2pKey);
  return capabilityDraft({ name: node.name, agentPubKey: node.conductor.agentPubKey, libp2pKey, hardwareClass: "cpu-small", ...extra });
}
