// How many threads llama.cpp may use on this node. node-llama-cpp's default (every core) makes the
// decode threads fight the conductor, the daemon's own event loop and any other load for the same
// cores; on a 2-core machine that more than halves the decode speed. So the engine is always given
// an explicit count, and this helper picks one from the cores that are actually free.
import { availableParallelism, loadavg } from "node:os";

export interface FreeCoreOptions {
  /** CPUs this process may use (default: os.availableParallelism(), which honours CPU affinity). */
  cores?: number;
  /** Runnable tasks on the machine (default: the 1-minute load average). */
  load?: number;
  /** Cores kept for the conductor and the daemon (default 1). */
  reserve?: number;
}

/**
 * The rule: threads = floor(cores - load), at most cores - reserve, at least 1.
 * - `cores - load` is what the rest of the machine leaves free right now (load 0.3 on 8 cores: 7 free);
 * - one core (`reserve`) always stays with the conductor and the daemon, whose latency matters to peers;
 * - never below 1, so a loaded or 1-core machine still serves (slowly) instead of not at all.
 * On the 2-core reference machine this gives 1 thread. The load average is a host figure (Linux counts
 * runnable tasks of the whole host, also in containers), so it errs on the side of fewer threads.
 */
export function freeCoreThreads({ cores = availableParallelism(), load = loadavg()[0] ?? 0, reserve = 1 }: FreeCoreOptions = {}): number {
  const safeCores = Number.isFinite(cores) && cores >= 1 ? Math.floor(cores) : 1;
  const safeLoad = Number.isFinite(load) && load > 0 ? load : 0;
  const safeReserve = Number.isFinite(reserve) && reserve > 0 ? Math.floor(reserve) : 0;
  const free = Math.floor(safeCores - safeLoad);
  return Math.max(1, Math.min(free, safeCores - safeReserve));
}
