// The address other machines of a LAN reach this one at: the first non-internal IPv4 address, or
// loopback on a machine (or test namespace) that has no other interface.
import { networkInterfaces } from "node:os";

export function lanAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}
