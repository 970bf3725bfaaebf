// Shared helpers of the p2p tests: identities with real bindings, nodes on 127.0.0.1 that are
// stopped after each test, in-memory logs to assert on, and waits that say what they waited for.
import { randomBytes } from "node:crypto";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { peerBindingMessage, signAgentBinding } from "@ripple-mesh/zome-bindings";
import { pino } from "pino";
import { afterEach } from "vitest";
import type { Logger } from "../src/log.ts";
import { P2pNode, type LocalBinding, type P2pNodeEvents, type P2pNodeOptions } from "../src/p2p/p2p-node.ts";

export interface Identity {
  libp2pKey: PrivateKey;
  peerId: string;
  agentKey: PrivateKey;
  agentPubKey: Uint8Array;
  binding: LocalBinding;
}

/** An AgentPubKey HoloHash: the 3-byte agent prefix, the 32-byte Ed25519 key, 4 location bytes. */
export function agentPubKeyOf(agentKey: PrivateKey): Uint8Array {
  return Uint8Array.from([0x84, 0x20, 0x24, ...agentKey.publicKey.raw, ...randomBytes(4)]);
}

/** A libp2p key and an agent key with an honest binding between them. */
export async function makeIdentity(): Promise<Identity> {
  const libp2pKey = await generateKeyPair("Ed25519");
  const agentKey = await generateKeyPair("Ed25519");
  const peerId = peerIdFromPrivateKey(libp2pKey).toString();
  const agentPubKey = agentPubKeyOf(agentKey);
  const binding = {
    agentPubKey,
    agentSignature: await agentKey.sign(peerBindingMessage(peerId)),
    peerSignature: await signAgentBinding(libp2pKey, agentPubKey),
  };
  return { libp2pKey, peerId, agentKey, agentPubKey, binding };
}

/** A pino logger that keeps its JSON lines for assertions (and prints them with P2P_TEST_LOG=1). */
export function memoryLogger(name: string): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { name, level: "debug" },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        if (process.env.P2P_TEST_LOG) process.stderr.write(line);
      },
    },
  );
  return { log, lines };
}

export interface TestNode {
  node: P2pNode;
  id: Identity;
  lines: Array<Record<string, unknown>>;
  /** Every event the node emitted, in order, for assertions and diagnostics. */
  events: Array<{ name: keyof P2pNodeEvents; detail: unknown }>;
}

const running: P2pNode[] = [];
afterEach(async () => {
  // One at a time: two nodes closing their shared connection at once each wait out libp2p's close timeout.
  for (const n of running.splice(0)) await n.stop().catch(() => {});
});

/** Starts a node on 127.0.0.1 (stopped after the test). By default with the identity's honest binding. */
export async function startNode(
  name: string,
  opts: Partial<Omit<P2pNodeOptions, "log" | "privateKey">> & { id?: Identity } = {},
): Promise<TestNode> {
  const id = opts.id ?? (await makeIdentity());
  const { log, lines } = memoryLogger(name);
  const node = await P2pNode.start({
    listen: ["/ip4/127.0.0.1/tcp/0"],
    mdnsServiceTag: null,
    binding: id.binding,
    ...opts,
    privateKey: id.libp2pKey,
    log,
  });
  running.push(node);
  const events: TestNode["events"] = [];
  for (const name of ["peer:discovered", "peer:bound", "peer:refused", "peer:disconnected"] as const) {
    node.on(name, (detail: unknown) => events.push({ name, detail }));
  }
  return { node, id, lines, events };
}

/** A service tag no other test (or LAN) uses. */
export function uniqueServiceTag(): string {
  return `_rm-test-${randomBytes(4).toString("hex")}._udp.local`;
}

/** Polls until `check` returns true; on timeout throws naming what and showing `diagnose()`. */
export async function waitFor(what: string, check: () => boolean, opts: { timeoutMs?: number; diagnose?: () => unknown } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${opts.timeoutMs ?? 10_000} ms waiting for ${what}; state: ${JSON.stringify(opts.diagnose?.() ?? null, bytesAsHex)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function bytesAsHex(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString("hex") : value;
}

/** What a node knows, for timeout messages. */
export function describe(t: TestNode): unknown {
  return {
    peerId: t.node.peerId,
    connected: t.node.connectedPeers(),
    bound: t.node.boundPeers().map((p) => p.peerId),
    events: t.events,
    warnings: t.lines.filter((l) => (l.level as number) >= 40).map((l) => l.msg),
  };
}
