// Liveness: a bound, connected peer is pinged every pingIntervalMs and its lastSeen advances; once
// it stops, peer:disconnected fires and lastSeen keeps its last value (the daemon judges offline).
import { describe as suite, expect, it } from "vitest";
import { describe, startNode, waitFor } from "./p2p-helpers.ts";

suite("p2p liveness", () => {
  it("advances lastSeen while connected and freezes it after the peer stops", async () => {
    const a = await startNode("a", { pingIntervalMs: 100 });
    const b = await startNode("b", { pingIntervalMs: 100 });
    const bPeer = b.node.peerId;
    await a.node.dial(b.node.multiaddrs()[0]!);
    await waitFor("a to bind b", () => a.node.lastSeen(bPeer) !== undefined, { diagnose: () => [a, b].map(describe) });

    // Past the handshake, only pings move lastSeen: watch it advance three times.
    for (let i = 0; i < 3; i++) {
      const before = a.node.lastSeen(bPeer)!;
      await waitFor(`lastSeen to advance past ${before}`, () => a.node.lastSeen(bPeer)! > before, { timeoutMs: 3_000, diagnose: () => describe(a) });
    }
    expect(Date.now() - a.node.lastSeen(bPeer)!).toBeLessThan(1_000);

    await b.node.stop();
    await waitFor("a to see b disconnect", () => a.events.some((e) => e.name === "peer:disconnected" && e.detail === bPeer), { diagnose: () => describe(a) });
    const last = a.node.lastSeen(bPeer)!;
    // A negative needs time: ten ping intervals in which lastSeen must not move.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(a.node.lastSeen(bPeer)).toBe(last);
    // Still listed as bound, with its last value: the daemon decides it is offline.
    expect(a.node.boundPeers()).toEqual([{ peerId: bPeer, agentPubKey: b.id.agentPubKey, lastSeenMs: last }]);
    expect(a.node.connectedPeers()).toEqual([]);
  });
});
