// Resident memory of a process (VmRSS from /proc/PID/status): what `ripple status` reports per part
// of the node (daemon, conductor, kubo, relay). Linux only; elsewhere, or for a process that is gone,
// the figure is null rather than a guess.
import { readFileSync } from "node:fs";

/** Bytes the process holds in RAM now, or null when it cannot be read (gone, not Linux, no pid). */
export function residentBytes(pid: number | null | undefined): number | null {
  if (!pid || pid <= 0) return null;
  try {
    const kib = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  } catch {
    return null;
  }
}
