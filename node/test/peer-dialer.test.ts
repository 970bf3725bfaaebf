// Dialling peers again: a departed node's capability stays in the DHT a while, its addresses are the
// peer's claim, and a peer may connect without ever binding. Such a peer is tried less and less
// often, not every few seconds forever (dial-backoff.ts, used by the DHT and mDNS dialers), until it
// binds or heartbeats again.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { MAX_REDIAL_AFTER_MS, PeerDialer } from "../src/mesh/peer-dialer.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";
import type { P2pNode } from "../src/p2p/p2p-node.ts";
import { silent } from "./support/inference-fixtures.ts";

const peer = (peerId: string, heartbeat?: { online: boolean; atMs: number }) =>
  ({ peerId, name: peerId, multiaddrs: ["/ip4/203.0.113.7/tcp/4001"], online: heartbeat?.online ?? false, lastHeartbeatMs: heartbeat?.atMs ?? null }) as unknown as PeerInfo;
const settle = () => new Promise((r) => setImmediate(r));

/**
 * A dialer over a libp2p node, on a clock the test moves. Dials fail, except to peers in `binds`
 * (they connect and bind) and `neverBinds` (they connect, stay connected 10 s, and never bind).
 */
function dialer(o: { binds?: string[]; neverBinds?: string[] } = {}) {
  const clock = { now: 0 };
  const connectedUntil = new Map<string, number>();
  const dialled: Array<{ at: number; peer: string }> = [];
  const p2p = Object.assign(new EventEmitter(), {
    connectedPeers: () => [...connectedUntil].filter(([, until]) => clock.now < until).map(([id]) => id),
    dial: async (address: string) => {
      const id = address.slice(address.lastIndexOf("/p2p/") + 5);
      dialled.push({ at: clock.now, peer: id });
      if (o.binds?.includes(id)) {
        connectedUntil.set(id, Infinity);
        p2p.emit("peer:bound", { peerId: id });
      } else if (o.neverBinds?.includes(id)) connectedUntil.set(id, clock.now + 10_000);
      else throw new Error("connection refused");
      return id;
    },
  });
  const d = new PeerDialer(p2p as unknown as P2pNode, silent, () => clock.now);
  return { d, p2p, clock, connectedUntil, dialled };
}

/** View reads every second for `seconds`, from the clock's time on. */
async function readEverySecond(x: ReturnType<typeof dialer>, peers: () => PeerInfo[], seconds: number): Promise<void> {
  const end = x.clock.now + seconds * 1000;
  for (; x.clock.now <= end; x.clock.now += 1000) {
    x.d.dialUnconnected(peers());
    await settle();
  }
}

const at = (x: ReturnType<typeof dialer>) => x.dialled.map((d) => d.at / 1000);

describe("dialling DHT peers again", () => {
  it("backs off a peer whose dials fail: 10 s, 20 s, 40 s … up to 5 minutes", async () => {
    const x = dialer();
    await readEverySecond(x, () => [peer("dead")], 3600);
    expect(at(x).slice(0, 6)).toEqual([0, 10, 30, 70, 150, 310]);
    const gaps = at(x).slice(1).map((t, i) => t - at(x)[i]!);
    expect(Math.max(...gaps)).toBe(MAX_REDIAL_AFTER_MS / 1000);
    // Every 10 s for an hour would have been 360 dials.
    expect(x.dialled.length).toBeLessThan(20);
  });

  it("a peer that connects but never binds is backed off too, even one that bound before", async () => {
    const x = dialer({ neverBinds: ["mute"] });
    x.p2p.emit("peer:bound", { peerId: "mute" }); // it bound once, long ago (its entry in the bound list stays)
    await readEverySecond(x, () => [peer("mute")], 600);
    // Connected 10 s each time (not dialled then); the backoff's wait counts from each dial's start.
    expect(at(x).slice(0, 5)).toEqual([0, 10, 30, 70, 150]);
    expect(x.dialled.length).toBeLessThan(10); // every second but while connected: ~55
  });

  it("a peer that binds starts over: when it is gone again it is dialled at once", async () => {
    const x = dialer();
    await readEverySecond(x, () => [peer("flaky")], 10); // dialled at 0 and 10 s
    x.p2p.emit("peer:bound", { peerId: "flaky" }); // it came back and bound (it dialled us)
    x.d.dialUnconnected([peer("flaky")]);
    expect(at(x)).toEqual([0, 10, 11]);
  });

  it("a peer back from a long silence is dialled within 10 s of its heartbeat, not after the backoff", async () => {
    const x = dialer();
    let beat: { online: boolean; atMs: number } | undefined;
    await readEverySecond(x, () => [peer("returner", beat)], 200); // dialled at 0, 10, 30, 70, 150; next at 310
    beat = { online: true, atMs: x.clock.now }; // 201 s: it heartbeats again
    await readEverySecond(x, () => [peer("returner", beat)], 30);
    // Dialled at once (its last dial was over 10 s ago), then backing off anew: 10 s, 20 s …
    expect(at(x)).toEqual([0, 10, 30, 70, 150, 201, 211, 231]);
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
