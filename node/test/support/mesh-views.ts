// Reading a running node's view through the real CLI (`--json`), for the mesh tests and benchmarks.
import { readFileSync } from "node:fs";
import { childPids } from "../../src/daemon/child-processes.ts";
import type { DaemonStatus } from "../../src/daemon/daemon.ts";
import type { PeerInfo } from "../../src/mesh/peer-view.ts";
import type { RippleDaemon } from "./ripple-process.ts";

export const statusOf = (d: RippleDaemon) => d.cliJson<DaemonStatus>(["status"]);
export const peersOf = (d: RippleDaemon) => d.cliJson<PeerInfo[]>(["peers"]);

/** True when `viewer` lists every one of `agents` as online. */
export async function seesOnline(viewer: RippleDaemon, agents: string[]): Promise<boolean> {
  const peers = await peersOf(viewer);
  return agents.every((a) => peers.some((p) => p.agent === a && p.online));
}

export async function describeViews(nodes: RippleDaemon[]): Promise<string> {
  const lines: string[] = [];
  for (const n of nodes) {
    if (n.exitCode !== undefined) {
      lines.push(`${n.name}: exited ${n.exitCode}`);
      continue;
    }
    try {
      const [s, peers] = [await statusOf(n), await peersOf(n)];
      lines.push(
        `${n.name}: mesh ${s.mesh.state} relay ${s.relayUrl} host ${s.localHost?.hostPeerId.slice(-6) ?? "-"}; peers ${peers.map((p) => `${p.name}:${p.online ? "on" : "off"}(${p.reason})`).join(", ")}`,
      );
    } catch (err) {
      lines.push(`${n.name}: ${(err as Error).message}\n${n.tail(8)}`);
    }
  }
  return lines.join("\n");
}

/** The pids of a process's direct children (a daemon's conductor, kubo, relay); none once it is gone. */
export function childrenOf(pid: number): number[] {
  return childPids(pid);
}

/** The pid of a process's child running `binary` (a daemon's "holochain", "ipfs"); undefined when none is. */
export function childRunning(daemonPid: number, binary: string): number | undefined {
  return childrenOf(daemonPid).find((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0")[0]!.endsWith(binary);
    } catch {
      return false;
    }
  });
}

/** Kill a node the way a crash or power loss would: the daemon and its conductor/relay, all at once. */
export function killNodeHard(daemonPid: number, childPids: number[]): void {
  for (const pid of [daemonPid, ...childPids]) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
