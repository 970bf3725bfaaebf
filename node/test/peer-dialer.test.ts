// Dialling peers again: a departed node's capability stays in the DHT a while, its addresses are the
// peer's claim, and a peer may connect without ever binding. Such a peer is tried less and less
// often, not every few seconds forever (dial-backoff.ts, used by the DHT and mDNS dialers).
import { describe, expect, it } from "vitest";
import { MAX_REDIAL_AFTER_MS, PeerDialer } from "../src/mesh/peer-dialer.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";
import type { BoundPeer } from "../src/p2p/p2p-node.ts";
import { silent } from "./support/inference-fixtures.ts";

const peer = (peerId: string) => ({ peerId, name: peerId, multiaddrs: ["/ip4/203.0.113.7/tcp/4001"] }) as unknown as PeerInfo;
const settle = () => new Promise((r) => setImmediate(r));

/**
 * A dialer over a libp2p node, on a clock the test moves. Dials fail, except to peers in `binds`
 * (they connect and bind) and `neverBinds` (they connect, and are closed again before the next read).
 */
function dialer(o: { binds?: string[]; neverBinds?: string[] } = {}) {
  const clock = { now: 0 };
  const connected = new Set<string>();
  const bound = new Set<string>();
  const dialled: Array<{ at: number; peer: string }> = [];
  const p2p = {
    connectedPeers: () => [...connected],
    boundPeers: () => [...bound].map((peerId) => ({ peerId }) as BoundPeer),
    dial: async (address: string) => {
      const id = address.slice(address.lastIndexOf("/p2p/") + 5);
      dialled.push({ at: clock.now, peer: id });
      if (o.binds?.includes(id)) {
        connected.add(id);
        bound.add(id);
      } else if (!o.neverBinds?.includes(id)) throw new Error("connection refused");
      return id;
    },
  };
  return { d: new PeerDialer(p2p, silent, () => clock.now), clock, connected, bound, dialled };
}

/** View reads every second for `seconds`, from the clock's time on. */
async function readEverySecond(x: ReturnType<typeof dialer>, peers: PeerInfo[], seconds: number): Promise<void> {
  const end = x.clock.now + seconds * 1000;
  for (; x.clock.now <= end; x.clock.now += 1000) {
    x.d.dialUnconnected(peers);
    await settle();
  }
}

describe("dialling DHT peers again", () => {
  it("backs off a peer whose dials fail: 10 s, 20 s, 40 s … up to 5 minutes", async () => {
    const x = dialer();
    await readEverySecond(x, [peer("dead")], 3600);
    const times = x.dialled.map((d) => d.at / 1000);
    expect(times.slice(0, 6)).toEqual([0, 10, 30, 70, 150, 310]);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.max(...gaps)).toBe(MAX_REDIAL_AFTER_MS / 1000);
    // Every 10 s for an hour would have been 360 dials.
    expect(x.dialled.length).toBeLessThan(20);
  });

  it("a peer that connects but never binds is backed off too (it was dialled every second)", async () => {
    const x = dialer({ neverBinds: ["mute"] });
    await readEverySecond(x, [peer("mute")], 600);
    expect(x.dialled.map((d) => d.at / 1000).slice(0, 5)).toEqual([0, 10, 30, 70, 150]);
    expect(x.dialled.length).toBeLessThan(10);
  });

  it("a peer that bound starts over: when it is gone again it is dialled at once", async () => {
    const x = dialer();
    const p = [peer("flaky")];
    await readEverySecond(x, p, 10); // dialled at 0 and 10 s
    x.connected.add("flaky"); // it came back and bound (it dialled us)
    x.bound.add("flaky");
    await readEverySecond(x, p, 20);
    expect(x.dialled).toHaveLength(2);
    x.connected.delete("flaky");
    x.bound.delete("flaky");
    x.d.dialUnconnected(p);
    expect(x.dialled.map((d) => d.at / 1000)).toEqual([0, 10, 32]);
  });

  it("a reachable peer is dialled once; a peer that left the view is forgotten", async () => {
    const x = dialer({ binds: ["alive"] });
    x.d.dialUnconnected([peer("alive"), peer("gone")]);
    await settle();
    x.clock.now = 60_000;
    x.d.dialUnconnected([peer("alive")]);
    await settle();
    // "gone" left the view; when it is listed again it is a new peer: dialled at once.
    x.d.dialUnconnected([peer("alive"), peer("gone")]);
    await settle();
    expect(x.dialled.map((d) => `${d.peer}@${d.at / 1000}`)).toEqual(["alive@0", "gone@0", "gone@60"]);
  });
});
