// A second "host" for tests of what crosses a network: a new network namespace joined to the test's
// own (loopback-only) namespace by a veth pair. Processes run inside it through `nsenter`.
// Needs the test runner to be root in its namespace (node/setup/in-loopback-netns.mjs makes it so).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readlinkSync } from "node:fs";

export class VethNamespace {
  private constructor(
    private readonly holder: ChildProcess,
    private readonly hostIf: string,
    readonly hostIp: string,
    readonly nsIp: string,
  ) {}

  /** Whether this test run can make namespaces (false where user namespaces are forbidden). */
  static available(): boolean {
    return process.env.RIPPLE_NETNS === "loopback-only";
  }

  static async create(opts: { hostIf?: string; subnet?: string } = {}): Promise<VethNamespace> {
    const hostIf = opts.hostIf ?? "rmveth0";
    const subnet = opts.subnet ?? "10.77.0";
    // A process that only holds the new namespace open.
    const holder = spawn("unshare", ["-n", "sleep", "infinity"], { stdio: "ignore" });
    const own = readlinkSync("/proc/self/ns/net");
    for (let i = 0; i < 100; i++) {
      try {
        if (readlinkSync(`/proc/${holder.pid}/ns/net`) !== own) break;
      } catch {
        // not started yet
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const [hostIp, nsIp] = [`${subnet}.1`, `${subnet}.2`];
    const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });
    ip("link", "add", hostIf, "type", "veth", "peer", "name", "rmveth1", "netns", String(holder.pid));
    ip("addr", "add", `${hostIp}/24`, "dev", hostIf);
    ip("link", "set", hostIf, "up");
    const inNs = (...args: string[]) => execFileSync("nsenter", ["-t", String(holder.pid), "-n", "--", "ip", ...args], { stdio: "pipe" });
    inNs("link", "set", "lo", "up");
    inNs("addr", "add", `${nsIp}/24`, "dev", "rmveth1");
    inNs("link", "set", "rmveth1", "up");
    return new VethNamespace(holder, hostIf, hostIp, nsIp);
  }

  /** Prefix for a command that must run inside the namespace. */
  get wrap(): string[] {
    return ["nsenter", "-t", String(this.holder.pid), "-n", "--"];
  }

  destroy(): void {
    this.holder.kill("SIGKILL"); // the namespace, and with it both ends of the veth pair, go away
    try {
      execFileSync("ip", ["link", "del", this.hostIf], { stdio: "ignore" });
    } catch {
      // already gone with the namespace
    }
  }
}
