// This process's direct children (conductor, kubo, bootstrap server, nats-server), read from /proc.
// Used when a stop overruns its deadline: the daemon then kills them itself rather than leaving
// them running without their supervisor.
import { readdirSync, readFileSync } from "node:fs";

/** Pids whose parent is `parentPid` (Linux /proc; empty elsewhere). */
export function childPids(parentPid = process.pid): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ")".
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parentPid) pids.push(Number(name));
    } catch {
      // The process ended while we read.
    }
  }
  return pids;
}

/** Sends `signal` to every direct child of `parentPid`; returns the pids signalled. */
export function signalChildren(signal: NodeJS.Signals, parentPid = process.pid): number[] {
  const pids = childPids(parentPid);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
  return pids;
}
