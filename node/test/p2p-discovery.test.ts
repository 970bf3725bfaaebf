// Nodes with the same mDNS service tag find each other on loopback, connect, and bind each other
// to the right agent keys; a node with another tag is neither discovered nor connected.
import { describe as suite, expect, it } from "vitest";
import { describe, startNode, uniqueServiceTag, waitFor, type TestNode } from "./p2p-helpers.ts";

function boundAgent(t: TestNode, peerId: string): Uint8Array | undefined {
  return t.node.boundPeers().find((p) => p.peerId === peerId)?.agentPubKey;
}

suite("p2p discovery and binding", () => {
  it("three nodes with one service tag discover each other by mDNS and bind the right agent keys", async () => {
    const tag = uniqueServiceTag();
    const nodes = await Promise.all(["a", "b", "c"].map((name) => startNode(name, { mdnsServiceTag: tag })));

    for (const t of nodes) {
      const peers = nodes.filter((p) => p !== t);
      await waitFor(
        `${t.node.peerId} to bind both other nodes`,
        () => peers.every((p) => boundAgent(t, p.node.peerId) !== undefined),
        { timeoutMs: 10_000, diagnose: () => nodes.map(describe) },
      );
      for (const p of peers) {
        // The agent key each node recorded is exactly the one the peer's binding names.
        expect(Buffer.from(boundAgent(t, p.node.peerId)!).toString("hex")).toBe(Buffer.from(p.id.agentPubKey).toString("hex"));
        expect(t.events).toContainEqual({ name: "peer:discovered", detail: p.node.peerId });
        const boundEvent = t.events.find((e) => e.name === "peer:bound" && (e.detail as { peerId: string }).peerId === p.node.peerId);
        expect(Buffer.from((boundEvent!.detail as { agentPubKey: Uint8Array }).agentPubKey)).toEqual(Buffer.from(p.id.agentPubKey));
      }
      expect(t.events.filter((e) => e.name === "peer:refused")).toEqual([]);
    }
  });

  it("a node with another service tag stays undiscovered while two nodes of one tag find each other", async () => {
    const tag = uniqueServiceTag();
    const a = await startNode("a", { mdnsServiceTag: tag });
    const stranger = await startNode("stranger", { mdnsServiceTag: uniqueServiceTag() });
    const b = await startNode("b", { mdnsServiceTag: tag });
    await waitFor("a and b to bind each other", () => a.node.boundPeers().length === 1 && b.node.boundPeers().length === 1, {
      diagnose: () => [a, b, stranger].map(describe),
    });
    // A negative needs time: give mDNS two more query rounds (1 s each) to (wrongly) report the stranger.
    await new Promise((r) => setTimeout(r, 2_200));
    for (const t of [a, b]) {
      expect(t.events.filter((e) => e.name === "peer:discovered").map((e) => e.detail)).toEqual([t === a ? b.node.peerId : a.node.peerId]);
      expect(t.node.connectedPeers()).not.toContain(stranger.node.peerId);
    }
    expect(stranger.events).toEqual([]);
  });
});
