// Dialling the peers the DHT lists: every 10 s while unconnected, only while listed (the view
// forgets departed nodes, and so does the dialer's memory of them), and only at addresses that
// cannot aim this node at others.
import { describe, expect, it } from "vitest";
import { PeerDialer } from "../src/mesh/peer-dialer.ts";
import { addressOwner, dialableCapabilityAddrs, isLoopbackIp } from "../src/p2p/peer-addresses.ts";
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

describe("which advertised addresses are dialled", () => {
  it("plain TCP at a unicast address only, other machines' first, eight at most: a capability cannot aim the mesh elsewhere", async () => {
    const hostile = [
      "/ip4/169.254.169.254/tcp/80", // cloud metadata (link-local)
      "/ip4/0.0.0.0/tcp/4001",
      "/ip4/224.0.0.251/tcp/5353",
      "/ip4/255.255.255.255/tcp/9",
      "/dns4/internal.example/tcp/443", // resolved on the peer's say-so
      "/ip4/203.0.113.7/tcp/0",
      "/ip4/203.0.113.7/tcp/70000",
      "/ip4/203.0.113.7/udp/4001/quic-v1",
      "/ip4/203.0.113.7/tcp/4001/ws",
      "/ip6/fe80::1/tcp/4001",
      "/ip6/ff02::1/tcp/4001",
      "/ip6/::ffff:169.254.1.1/tcp/4001",
      "/ip4/999.1.1.1/tcp/4001",
      "/ip6/::ffff:a9fe:a9fe/tcp/80", // 169.254.169.254 spelled as IPv6
      "/ip6/0:0:0:0:0:ffff:169.254.169.254/tcp/80",
      "/ip6/0:0:0:0:0:0:0:0/tcp/4001",
      "/ip6/64:ff9b::a9fe:a9fe/tcp/80", // NAT64
      "/ip6/0:0:0:0:0:ffff:cb00:7107/tcp/4001", // 203.0.113.7:4001 again, another spelling
      "/ip4/127.0.0.1/tcp/4001",
      "/ip4/203.0.113.7/tcp/4001",
      "/ip4/203.0.113.7/tcp/4001",
      "/ip6/2001:db8::7/tcp/4001",
      ...Array.from({ length: 9 }, (_, i) => `/ip4/198.51.100.${i + 1}/tcp/${i + 1}`),
    ];
    const others = Array.from({ length: 6 }, (_, i) => `/ip4/198.51.100.${i + 1}/tcp/${i + 1}`);
    // 203.0.113.7:4001 once, in the first spelling listed.
    expect(dialableCapabilityAddrs(hostile)).toEqual(["/ip6/0:0:0:0:0:ffff:cb00:7107/tcp/4001", "/ip6/2001:db8::7/tcp/4001", ...others]);
    // Loopback goes last (it only reaches a peer on this machine), and is kept when nothing else is listed.
    expect(dialableCapabilityAddrs(["/ip4/127.0.0.1/tcp/4001", "/ip4/192.168.1.20/tcp/4001"])).toEqual(["/ip4/192.168.1.20/tcp/4001", "/ip4/127.0.0.1/tcp/4001"]);

    const dialled: string[] = [];
    const p2p = { connectedPeers: () => [], dial: async (address: string) => (dialled.push(address), Promise.reject(new Error("refused"))) };
    new PeerDialer(p2p as unknown as P2pNode, silent).dialUnconnected([{ peerId: "mallory", name: "mallory", multiaddrs: hostile } as unknown as PeerInfo]);
    await new Promise((r) => setTimeout(r, 20));
    expect(dialled).toEqual(dialableCapabilityAddrs(hostile).map((a) => `${a}/p2p/mallory`));
  });

  it("knows an address however it is spelled: loopback, mapped IPv4, and an IPv6 host by its /64", () => {
    expect(isLoopbackIp("::ffff:127.0.0.1")).toBe(true);
    expect(isLoopbackIp("0:0:0:0:0:0:0:1")).toBe(true);
    expect(isLoopbackIp("127.8.9.10")).toBe(true);
    expect(isLoopbackIp("128.0.0.1")).toBe(false);
    expect(addressOwner("::ffff:1.2.3.4")).toBe("1.2.3.4");
    expect(addressOwner("1.2.3.4")).toBe("1.2.3.4");
    expect(addressOwner("2001:db8:1:2::7")).toBe(addressOwner("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
    expect(addressOwner("2001:db8:1:2::7")).not.toBe(addressOwner("2001:db8:1:3::7"));
    expect(addressOwner("not-an-ip")).toBeUndefined();
  });
});
