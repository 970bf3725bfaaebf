// What a mesh daemon's kubo hello can make this node's kubo do. kubo redials every peering it is
// given, forever; a daemon's hello is its word. So kubo's peering list holds one kubo per connected
// daemon: a daemon that says hello again with another kubo id replaces its old one, and one that
// disconnects takes its peering with it.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { dialableAddrs, KuboPeering, PROVES_PER_MINUTE } from "../src/artifacts/kubo-peering.ts";
import type { IpfsStore } from "../src/artifacts/ipfs-store.ts";
import type { P2pNode } from "../src/p2p/p2p-node.ts";
import { silent } from "./support/inference-fixtures.ts";

const kuboId = (i: number) => `12D3KooWkubo${String(i).padStart(40, "0")}`;
/** Every fake daemon's libp2p connection comes from this address (TEST-NET-3: never this machine's); its kubo listens there too. */
const daemonHost = "203.0.113.9";
const hello = (i: number) => ({ op: "hello", peerId: kuboId(i), addrs: [`/ip4/${daemonHost}/tcp/${4000 + i}/p2p/${kuboId(i)}`] });

/** This node's kubo peering list, as the RPC calls leave it. Set `hold` to keep a peering add's answer back (kubo has applied it). */
function fakeKubo() {
  const kubo = { peerings: new Set<string>(), hold: undefined as Promise<void> | undefined, ipfs: undefined as unknown as IpfsStore };
  kubo.ipfs = {
    id: async () => ({ peerId: "12D3KooWself", addrs: ["/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWself"] }),
    peer: async (addr: string) => {
      kubo.peerings.add(addr.slice(addr.lastIndexOf("/p2p/") + 5));
      await kubo.hold;
    },
    unpeer: async (peerId: string) => void kubo.peerings.delete(peerId),
  } as unknown as IpfsStore;
  return kubo;
}

/** A libp2p node with `connected` peers, whose kubo handler the test calls as a peer would. */
function fakeP2p(connected: Set<string>) {
  const events = new EventEmitter();
  let handler: ((req: unknown, from: { peerId: string }) => Promise<unknown>) | undefined;
  const p2p = Object.assign(events, {
    handleJson: async (_protocol: string, h: typeof handler) => void (handler = h),
    connectedPeers: () => [...connected],
    remoteHost: (peerId: string) => (connected.has(peerId) ? daemonHost : undefined),
    boundPeers: () => [],
  }) as unknown as P2pNode;
  return { p2p, events, say: (from: string, req: unknown) => handler!(req, { peerId: from }) };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

/** A started KuboPeering over a fake kubo and libp2p node with `connected` peers. */
async function started(connected: Set<string>) {
  const kubo = fakeKubo();
  const { p2p, events, say } = fakeP2p(connected);
  const peering = new KuboPeering({ p2p, ipfs: kubo.ipfs, log: silent });
  await peering.start();
  /** A daemon disconnects. */
  const leave = (peerId: string) => (connected.delete(peerId), events.emit("peer:disconnected", peerId));
  return { peering, peerings: kubo.peerings, kubo, say, leave };
}

describe("kubo peering from daemons' hellos", () => {
  it("one kubo per connected daemon: a new hello replaces the old id; a disconnect removes it", async () => {
    const connected = new Set(["12D3KooWmallory", "12D3KooWbob"]);
    const { peering, peerings, say, leave } = await started(connected);

    await say("12D3KooWbob", hello(1));
    for (let i = 100; i < 300; i++) await say("12D3KooWmallory", hello(i));
    await settle();
    expect([...peerings].sort()).toEqual([kuboId(1), kuboId(299)].sort());
    expect(peering.kuboPeerOf("12D3KooWmallory")).toBe(kuboId(299));

    leave("12D3KooWmallory");
    await settle();
    expect([...peerings]).toEqual([kuboId(1)]);
    expect(peering.kuboPeerOf("12D3KooWmallory")).toBeUndefined();

    // A hello from a peer that is no longer connected peers with nothing.
    await say("12D3KooWmallory", hello(400));
    await settle();
    expect([...peerings]).toEqual([kuboId(1)]);
    peering.stop();
  });

  it("a peer naming another daemon's kubo cannot have that daemon's peering dropped", async () => {
    const connected = new Set(["12D3KooWmallory", "12D3KooWbob"]);
    const { peering, peerings, say, leave } = await started(connected);
    await say("12D3KooWbob", hello(1));
    await say("12D3KooWmallory", hello(1)); // bob's kubo id, repeated
    await say("12D3KooWmallory", hello(2)); // replaced: bob's peering must stay
    await settle();
    expect([...peerings].sort()).toEqual([kuboId(1), kuboId(2)].sort());
    leave("12D3KooWmallory");
    await settle();
    expect([...peerings]).toEqual([kuboId(1)]);
    peering.stop();
  });

  it("a daemon leaving while another one's peering with the same kubo is under way does not drop it", async () => {
    const connected = new Set(["12D3KooWalice", "12D3KooWbob"]);
    const { peering, peerings, kubo, say, leave } = await started(connected);
    await say("12D3KooWalice", hello(5));
    await settle();
    // bob names the same kubo; kubo applies its peering, and the answer is held while alice leaves.
    let answer: () => void = () => {};
    kubo.hold = new Promise<void>((r) => (answer = r));
    await say("12D3KooWbob", hello(5));
    leave("12D3KooWalice");
    await settle();
    answer();
    await settle();
    expect([...peerings]).toEqual([kuboId(5)]);
    expect(peering.kuboPeerOf("12D3KooWbob")).toBe(kuboId(5));
    peering.stop();
  });

  it("addresses that are not the named kubo's, or not at the daemon's own host, are not dialled", async () => {
    const { peering, peerings, kubo, say } = await started(new Set(["12D3KooWmallory"]));
    const dialled: string[] = [];
    const peer = kubo.ipfs.peer.bind(kubo.ipfs);
    kubo.ipfs.peer = async (addr: string, o?: { timeoutMs?: number }) => (dialled.push(addr), peer(addr, o));
    await say("12D3KooWmallory", { op: "hello", peerId: kuboId(7), addrs: [`/ip4/${daemonHost}/tcp/22/p2p/${kuboId(8)}`] });
    // Another host's SSH port, a name, a relay: kubo would dial them for the peer, and redial forever.
    const elsewhere = [`/ip4/192.168.1.1/tcp/22/p2p/${kuboId(7)}`, `/dns4/example.org/tcp/443/p2p/${kuboId(7)}`, `/ip6/::1/tcp/4001/p2p/${kuboId(7)}`, `/ip4/${daemonHost}/tcp/4001/p2p/12D3KooWrelay/p2p-circuit/p2p/${kuboId(7)}`];
    await say("12D3KooWmallory", { op: "hello", peerId: kuboId(7), addrs: elsewhere });
    await settle();
    expect(dialled).toEqual([]);
    expect(peerings.size).toBe(0);
    // Only the daemon's own host is dialled, among the others.
    await say("12D3KooWmallory", { op: "hello", peerId: kuboId(7), addrs: [...elsewhere, `/ip4/${daemonHost}/tcp/4001/p2p/${kuboId(7)}`] });
    await settle();
    expect(dialled).toEqual([`/ip4/${daemonHost}/tcp/4001/p2p/${kuboId(7)}`]);
    expect([...peerings]).toEqual([kuboId(7)]);
    peering.stop();
  });

  it("hellos faster than kubo peers do not queue up: only the newest waits its turn", async () => {
    const { peering, peerings, kubo, say } = await started(new Set(["12D3KooWmallory"]));
    let dials = 0;
    const peer = kubo.ipfs.peer.bind(kubo.ipfs);
    kubo.ipfs.peer = async (addr: string, o?: { timeoutMs?: number }) => (dials++, peer(addr, o));
    let answer: () => void = () => {};
    kubo.hold = new Promise<void>((r) => (answer = r));
    await say("12D3KooWmallory", hello(1)); // kubo is busy peering with this one
    await settle();
    await Promise.all(Array.from({ length: 200 }, (_, i) => say("12D3KooWmallory", hello(100 + i))));
    answer();
    await settle();
    expect(dials).toBe(2); // the first, then only the newest of the 200 that came meanwhile
    expect([...peerings]).toEqual([kuboId(299)]);
    expect(peering.kuboPeerOf("12D3KooWmallory")).toBe(kuboId(299));
    peering.stop();
  });

  it("a hello after a reconnect is not undone by the disconnect before it", async () => {
    const connected = new Set(["12D3KooWalice"]);
    const { peering, peerings, kubo, say, leave } = await started(connected);
    let answer: () => void = () => {};
    kubo.hold = new Promise<void>((r) => (answer = r));
    await say("12D3KooWalice", hello(1)); // kubo busy peering with it
    await settle();
    await say("12D3KooWalice", hello(2)); // waits its turn
    leave("12D3KooWalice");
    connected.add("12D3KooWalice"); // back at once, with a new kubo
    await say("12D3KooWalice", hello(3));
    answer();
    await settle();
    expect([...peerings]).toEqual([kuboId(3)]);
    expect(peering.kuboPeerOf("12D3KooWalice")).toBe(kuboId(3));
    peering.stop();
  });

  it("answers at most PROVES_PER_MINUTE proofs a minute per asking peer (each is a block read here)", async () => {
    const { kubo, say } = await started(new Set(["12D3KooWasker", "12D3KooWother"]));
    let reads = 0;
    Object.assign(kubo.ipfs, { isPinned: async () => true, blockGet: async () => (reads++, new Uint8Array([1, 2, 3])) });
    const prove = { op: "prove", cid: "bafkreiaaaaaaaa", block: "bafkreibbbbbbbb" };
    const answers = await Promise.allSettled(Array.from({ length: PROVES_PER_MINUTE + 5 }, () => say("12D3KooWasker", prove)));
    expect(answers.filter((a) => a.status === "fulfilled" && (a.value as { data: string | null }).data !== null)).toHaveLength(PROVES_PER_MINUTE);
    // Beyond it a "busy" refusal (the verifier says the daemon did not answer), not "does not pin".
    const refused = answers.filter((a) => a.status === "rejected");
    expect(refused).toHaveLength(5);
    expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/more than 120 proofs asked in a minute/);
    expect(reads).toBe(PROVES_PER_MINUTE);
    // Another peer has its own count.
    expect(((await say("12D3KooWother", prove)) as { data: string | null }).data).not.toBeNull();
  });

  it("a daemon on this same machine may name its kubo's loopback address", () => {
    const addrs = [`/ip4/127.0.0.1/tcp/4001/p2p/${kuboId(1)}`, `/ip4/10.0.0.9/tcp/4001/p2p/${kuboId(1)}`];
    expect(dialableAddrs(addrs, kuboId(1), "10.0.0.9", new Set(["10.0.0.9", "127.0.0.1"]))).toEqual(addrs);
    expect(dialableAddrs(addrs, kuboId(1), "10.0.0.9", new Set(["10.0.0.2", "127.0.0.1"]))).toEqual([addrs[1]]);
    expect(dialableAddrs(addrs, kuboId(1), undefined, new Set(["10.0.0.9"]))).toEqual([]);
  });
});
