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

export const isLoopbackIp = (ip: string | undefined): boolean => ip !== undefined && (ip.startsWith("127.") || ip === "::1");

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
  return loopbackLast([...new Set(ok)]).slice(0, MAX_DIALLED_ADDRS_PER_PEER);
}

/** False for addresses no peer listens on, and for link-local ones. */
function isListenableIp(ip: string): boolean {
  if (isIP(ip) === 4) return isListenableIpv4(ip);
  const v6 = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v6);
  if (mapped) return isListenableIpv4(mapped[1]!);
  // Unspecified, multicast (ff00::/8), link-local (fe80::/10).
  return v6 !== "::" && !v6.startsWith("ff") && !/^fe[89ab]/.test(v6);
}

function isListenableIpv4(ip: string): boolean {
  const [a, b] = ip.split(".").map(Number) as [number, number];
  // 0.0.0.0/8 (this network), 169.254.0.0/16 (link-local), 224.0.0.0/4 (multicast), 240.0.0.0/4 and broadcast.
  return a !== 0 && !(a === 169 && b === 254) && a < 224;
}
