// Dialling the peers the DHT lists: every 10 s while unconnected, and only while listed (the view
// forgets departed nodes, and so does the dialer's memory of them).
import { describe, expect, it } from "vitest";
import { PeerDialer } from "../src/mesh/peer-dialer.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";
import type { P2pNode } from "../src/p2p/p2p-node.ts";
import { silent } from "./support/inference-fixtures.ts";

const peer = (peerId: string) => ({ peerId, name: peerId, multiaddrs: ["/ip4/203.0.113.7/tcp/4001"] }) as unknown as PeerInfo;
const settle = () => new Promise((r) => setImmediate(r));

describe("dialling DHT peers", () => {
  it("redials an unconnected peer every 10 s, a connected one never, and forgets one that left the view", async () => {
    const clock = { now: 0 };
    const connected = new Set<string>();
    const dialled: string[] = [];
    const p2p = {
      connectedPeers: () => [...connected],
      dial: async (address: string) => {
        const id = address.slice(address.lastIndexOf("/p2p/") + 5);
        dialled.push(`${id}@${clock.now / 1000}`);
        if (id === "alive") connected.add(id);
        else throw new Error("connection refused");
        return id;
      },
    };
    const d = new PeerDialer(p2p as unknown as P2pNode, silent, () => clock.now);
    for (; clock.now <= 25_000; clock.now += 1000) {
      d.dialUnconnected(clock.now < 12_000 ? [peer("alive"), peer("gone")] : [peer("alive")]);
      await settle();
    }
    d.dialUnconnected([peer("alive"), peer("gone")]); // listed again at 26 s: a new peer, dialled at once
    expect(dialled).toEqual(["alive@0", "gone@0", "gone@10", "gone@26"]);
  });
});
