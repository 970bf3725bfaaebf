// Dialling the peers the DHT lists: a departed node's capability stays there, and its addresses are
// the peer's claim. A peer whose dials fail is tried less and less often, not every 10 s forever.
import { describe, expect, it } from "vitest";
import { MAX_REDIAL_AFTER_MS, PeerDialer, REDIAL_AFTER_MS } from "../src/mesh/peer-dialer.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";
import { silent } from "./support/inference-fixtures.ts";

const peer = (peerId: string) => ({ peerId, name: peerId, multiaddrs: ["/ip4/203.0.113.7/tcp/4001"] }) as unknown as PeerInfo;
const settle = () => new Promise((r) => setImmediate(r));

/** A dialer over a libp2p node whose dials fail (or succeed for peers in `reachable`), on a clock the test moves. */
function dialer(reachable = new Set<string>()) {
  const clock = { now: 0 };
  const connected = new Set<string>();
  const dialled: Array<{ at: number; peer: string }> = [];
  const p2p = {
    connectedPeers: () => [...connected],
    dial: async (address: string) => {
      const id = address.slice(address.lastIndexOf("/p2p/") + 5);
      dialled.push({ at: clock.now, peer: id });
      if (!reachable.has(id)) throw new Error("connection refused");
      connected.add(id);
      return id;
    },
  };
  return { d: new PeerDialer(p2p, silent, () => clock.now), clock, connected, dialled };
}

describe("dialling DHT peers", () => {
  it("backs off a peer whose dials fail: 10 s, 20 s, 40 s … up to 5 minutes", async () => {
    const { d, clock, dialled } = dialer();
    const dead = [peer("dead")];
    // A view read every second for an hour.
    for (clock.now = 0; clock.now <= 3_600_000; clock.now += 1000) {
      d.dialUnconnected(dead);
      await settle();
    }
    const times = dialled.map((x) => x.at / 1000);
    expect(times.slice(0, 6)).toEqual([0, 10, 30, 70, 150, 310]);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.max(...gaps)).toBe(MAX_REDIAL_AFTER_MS / 1000);
    // Every 10 s for an hour would have been 360 dials.
    expect(dialled.length).toBeLessThan(20);
    expect(REDIAL_AFTER_MS).toBe(10_000);
  });

  it("does not dial a connected peer, and starts over for a peer that was connected", async () => {
    const { d, clock, connected, dialled } = dialer();
    const p = [peer("flaky")];
    d.dialUnconnected(p);
    await settle();
    clock.now = 10_000;
    d.dialUnconnected(p);
    await settle();
    expect(dialled).toHaveLength(2);
    connected.add("flaky"); // it came back (dialled us, or mDNS)
    clock.now = 20_000;
    d.dialUnconnected(p);
    expect(dialled).toHaveLength(2);
    connected.delete("flaky"); // and went away again: tried at once, then after 10 s
    d.dialUnconnected(p);
    await settle();
    clock.now = 30_000;
    d.dialUnconnected(p);
    await settle();
    expect(dialled.map((x) => x.at)).toEqual([0, 10_000, 20_000, 30_000]);
  });

  it("a reachable peer is dialled once; a peer that left the view is forgotten", async () => {
    const { d, clock, dialled } = dialer(new Set(["alive"]));
    d.dialUnconnected([peer("alive"), peer("gone")]);
    await settle();
    clock.now = 60_000;
    d.dialUnconnected([peer("alive")]);
    await settle();
    // "gone" left the view; when it is listed again it is a new peer: dialled at once.
    d.dialUnconnected([peer("alive"), peer("gone")]);
    await settle();
    expect(dialled.map((x) => `${x.peer}@${x.at / 1000}`)).toEqual(["alive@0", "gone@0", "gone@60"]);
  });
});
