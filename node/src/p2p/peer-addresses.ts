// What a peer says about where it listens is a claim, and dialling it is an action this node takes
// towards whatever host and port it names. So a peer's advertised addresses are dialled only when
// they are plain TCP on an IP address (a /dns name could point anywhere, and would be resolved on
// the peer's say-so), never at addresses no peer can listen on (unspecified, multicast, broadcast)
// nor link-local ones (169.254.0.0/16 holds cloud metadata services), and a few at most per peer.
import { isIP } from "node:net";

/**
 * Addresses of one peer tried per dial round: a multi-homed host lists several interfaces (LAN,
 * container bridges, VPN, IPv6), one of which reaches us; half of what a capability may carry.
 */
export const MAX_DIALLED_ADDRS_PER_PEER = 8;

/** The IP address an /ip4/… or /ip6/… multiaddr dials (a /dns… address has none: a name could point anywhere). */
export function ipOf(addr: string): string | undefined {
  return /^\/ip[46]\/([^/]+)\//.exec(addr)?.[1];
}

/** 127.0.0.0/8 and ::1, in any spelling (IPv4-mapped ones included). */
export function isLoopbackIp(ip: string | undefined): boolean {
  const c = ip === undefined ? undefined : canonicalIp(ip);
  if (!c) return false;
  return c.v === 4 ? c.octets[0] === 127 : c.groups.every((g, i) => g === (i === 7 ? 1 : 0));
}

/**
 * An IP address as numbers, whatever its spelling: IPv6 through the URL parser's canonical form,
 * IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96) addresses
 * unwrapped to the IPv4 address they reach. undefined when it is not an IP address.
 */
export function canonicalIp(ip: string): { v: 4; octets: number[] } | { v: 6; groups: number[] } | undefined {
  if (isIP(ip) === 4) return { v: 4, octets: ip.split(".").map(Number) };
  if (isIP(ip) !== 6) return undefined;
  const groups = ipv6Groups(new URL(`http://[${ip}]/`).hostname.slice(1, -1));
  const embedsV4 = (groups.slice(0, 5).every((g) => g === 0) && (groups[5] === 0xffff || (groups[5] === 0 && groups[6] !== 0))) || (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0));
  if (embedsV4) return { v: 4, octets: [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff] };
  return { v: 6, groups };
}

/** The 8 groups of a canonical (URL-normalized, hex-only) IPv6 address. */
function ipv6Groups(canonical: string): number[] {
  const [head, tail] = canonical.includes("::") ? canonical.split("::") : [canonical, undefined];
  const parse = (part: string | undefined) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const before = parse(head);
  const after = parse(tail);
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/** One key per IP address, however it is spelled (see canonicalIp); undefined when it is not one. */
export function ipKey(ip: string): string | undefined {
  const c = canonicalIp(ip);
  return c && JSON.stringify(c);
}

/**
 * Who an address belongs to, for counting machines: an IPv4 address (mapped forms unwrapped), or an
 * IPv6 /64 (one host gets a whole /64 and picks addresses in it at will).
 */
export function addressOwner(ip: string): string | undefined {
  const c = canonicalIp(ip);
  if (!c) return undefined;
  return c.v === 4 ? c.octets.join(".") : `${c.groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** Loopback addresses only reach a peer on this same machine: they go last. */
export function loopbackLast(addrs: readonly string[]): string[] {
  const lo = (a: string) => isLoopbackIp(ipOf(a));
  return [...addrs.filter((a) => !lo(a)), ...addrs.filter(lo)];
}

/**
 * The addresses of a peer's capability this node may dial: `/ip4|ip6/<address>/tcp/<1..65535>` at an
 * address a host can listen on, without duplicates, other machines' first, at most
 * MAX_DIALLED_ADDRS_PER_PEER of them.
 */
export function dialableCapabilityAddrs(addrs: readonly string[]): string[] {
  const ok = addrs.filter((a) => {
    const m = /^\/ip([46])\/([^/]+)\/tcp\/(\d{1,5})$/.exec(a);
    if (!m) return false;
    const port = Number(m[3]);
    return port >= 1 && port <= 65535 && isIP(m[2]!) === Number(m[1]) && isListenableIp(m[2]!);
  });
  // One per address and port, however the address is spelled.
  const seen = new Set<string>();
  const unique = ok.filter((a) => {
    const key = `${ipKey(ipOf(a)!)}:${a.slice(a.lastIndexOf("/") + 1)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return loopbackLast(unique).slice(0, MAX_DIALLED_ADDRS_PER_PEER);
}

/** False for addresses no peer listens on, and for link-local ones, in any spelling. */
function isListenableIp(ip: string): boolean {
  const c = canonicalIp(ip);
  if (!c) return false;
  if (c.v === 4) {
    const [a, b] = c.octets as [number, number];
    // 0.0.0.0/8 (this network), 169.254.0.0/16 (link-local), 224.0.0.0/4 (multicast), 240.0.0.0/4 and broadcast.
    return a !== 0 && !(a === 169 && b === 254) && a < 224;
  }
  const [g0] = c.groups as [number];
  // Unspecified (::), multicast (ff00::/8), link-local (fe80::/10).
  return !c.groups.every((g) => g === 0) && g0 < 0xff00 && (g0 & 0xffc0) !== 0xfe80;
}
