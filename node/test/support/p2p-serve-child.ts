// A serving P2pNode in its own process, so a test can measure what a hostile peer costs THAT
// process (its /proc/PID/status VmRSS) without the test runner's own allocations in the figure.
//
// Started as `node --import tsx`; argv[2] is JSON: {unboundGraceMs?, inbound?, handshake?}. It serves
// /ripple-mesh-test/jobs/1.0.0 (bound-only JSON, 256 KiB like the jobs protocol) and prints JSON
// lines on stdout: {"ready": {peerId, addr}} once listening, then {"event": name, ...detail} for
// peer:bound / peer:refused / peer:disconnected. Stops on SIGTERM.
import "../../src/p2p/polyfill.ts";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { peerBindingMessage, signAgentBinding } from "@ripple-mesh/zome-bindings";
import { pino } from "pino";
import { P2pNode, type P2pNodeOptions } from "../../src/p2p/p2p-node.ts";

const childJobsProtocol = "/ripple-mesh-test/jobs/1.0.0";
const childJobsMaxBytes = 256 * 1024;

type ChildConfig = Pick<P2pNodeOptions, "unboundGraceMs" | "inbound" | "handshake">;

function say(line: unknown): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as ChildConfig;
  const libp2pKey = await generateKeyPair("Ed25519");
  const agentKey = await generateKeyPair("Ed25519");
  const peerId = peerIdFromPrivateKey(libp2pKey).toString();
  const agentPubKey = Uint8Array.from([0x84, 0x20, 0x24, ...agentKey.publicKey.raw, 0, 0, 0, 0]);
  const binding = {
    agentPubKey,
    agentSignature: await agentKey.sign(peerBindingMessage(peerId)),
    peerSignature: await signAgentBinding(libp2pKey, agentPubKey),
  };
  const log = pino({ name: "serve-child", level: process.env.P2P_TEST_LOG ? "debug" : "warn" }, pino.destination(2));
  const node = await P2pNode.start({ ...config, privateKey: libp2pKey, listen: ["/ip4/127.0.0.1/tcp/0"], mdnsServiceTag: null, binding, log });
  await node.handleJson(childJobsProtocol, async (request) => ({ size: JSON.stringify(request).length }), { maxBytes: childJobsMaxBytes });
  node.on("peer:bound", ({ peerId: peer }) => say({ event: "peer:bound", peerId: peer }));
  node.on("peer:refused", (detail) => say({ event: "peer:refused", ...detail }));
  node.on("peer:disconnected", (peer) => say({ event: "peer:disconnected", peerId: peer }));
  process.on("SIGTERM", () => {
    void node.stop().finally(() => process.exit(0));
  });
  say({ ready: { peerId: node.peerId, addr: node.multiaddrs()[0] } });
}

main().catch((err: unknown) => {
  process.stderr.write(`serve-child failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
