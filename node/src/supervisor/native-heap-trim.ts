// Gives the daemon's freed native memory back to the operating system (issue #22).
//
// Why: glibc's malloc keeps memory freed in the middle of its heap for reuse and returns only the top
// of the heap. Starting a node frees a lot of it (V8's parser and compiler zones for the 4.5 MB
// bundle, libp2p's and the conductor client's start-up buffers), and none of it comes back: an idle
// daemon measured 141 MB RSS, of which malloc_trim(0) handed back ~35 MB (108 MB after; one local
// node, 2 cores). glibc has no setting that does this on its own (trim_threshold trims only the top),
// and a Node process cannot switch to another allocator once it runs, so the daemon calls
// malloc_trim(0) itself: once when it is running (33 MiB back in 2 ms) and then every 15 s by default
// (the routine trims give back 2-3 MiB in 0.4-0.5 ms each; between trims an idle mesh node's RSS
// climbs ~5-8 MB).
//
// malloc_trim is glibc's: it is called through koffi (an FFI with prebuilt binaries, no compiler at
// install; an optional dependency). Where there is no glibc (macOS, musl) or koffi cannot load,
// nothing is trimmed and `ripple status` says why.
import type { NativeHeapTrimState } from "@ripple-mesh/api-types";
import { RippleError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { residentBytes } from "./process-memory.ts";
import { loadGlibcMalloc } from "./glibc-malloc.mjs";

type MallocTrim = (pad: number) => number;

/** setInterval's own limit: a longer delay fires every millisecond. */
const MAX_INTERVAL_MS = 2 ** 31 - 1;

export class NativeHeapTrimmer {
  private timer: NodeJS.Timeout | undefined;
  /** Set while malloc_trim can be called; `reason` says why not otherwise. */
  private trimFn: MallocTrim | undefined;
  private reason: string | undefined;
  private trims = 0;
  private lastFreedBytes = 0;

  private constructor(
    loaded: { trim: MallocTrim } | { reason: string },
    private readonly log: Logger,
  ) {
    if ("trim" in loaded) this.trimFn = loaded.trim;
    else this.reason = loaded.reason;
  }

  /** Trims now, then every `intervalMs` (0: only now). Logs once where trimming is not available. */
  static start(opts: { intervalMs: number; log: Logger; load?: () => { trim: MallocTrim } | { reason: string } }): NativeHeapTrimmer {
    if (!Number.isInteger(opts.intervalMs) || opts.intervalMs < 0 || opts.intervalMs > MAX_INTERVAL_MS) {
      throw new RippleError(`heap trim interval ${opts.intervalMs} ms is outside 0..${MAX_INTERVAL_MS}`, "pass whole milliseconds; 0 trims once, after start-up");
    }
    const trimmer = new NativeHeapTrimmer((opts.load ?? loadGlibcMalloc)(), opts.log);
    if (!trimmer.trimFn) {
      opts.log.info({ reason: trimmer.reason }, "freed native memory stays with the daemon");
      return trimmer;
    }
    trimmer.trimNow();
    if (opts.intervalMs > 0) {
      trimmer.timer = setInterval(() => trimmer.trimNow(), opts.intervalMs);
      trimmer.timer.unref();
    }
    return trimmer;
  }

  /**
   * One malloc_trim(0); returns the RSS it gave back (bytes, 0 when nothing or not available). A
   * trim that throws turns trimming off (with the reason in the state) instead of reaching the
   * timer, where it would end the daemon.
   */
  trimNow(): number {
    if (!this.trimFn) return 0;
    const before = residentBytes(process.pid) ?? 0;
    const started = performance.now();
    try {
      this.trimFn(0);
    } catch (err) {
      this.trimFn = undefined;
      this.reason = `malloc_trim failed: ${(err as Error).message}`;
      this.stop();
      this.log.warn({ reason: this.reason }, "freed native memory stays with the daemon");
      return 0;
    }
    const freed = Math.max(0, before - (residentBytes(process.pid) ?? before));
    this.trims += 1;
    this.lastFreedBytes = freed;
    const fields = { freedMiB: Math.round(freed / 2 ** 20), ms: Math.round((performance.now() - started) * 10) / 10 };
    // The first trim (after start-up) is the large one; later ones are routine.
    if (this.trims === 1) this.log.info(fields, "gave freed native memory back to the OS");
    else this.log.debug(fields, "gave freed native memory back to the OS");
    return freed;
  }

  state(): NativeHeapTrimState {
    return { available: this.trimFn !== undefined, ...(this.reason ? { reason: this.reason } : {}), trims: this.trims, lastFreedBytes: this.lastFreedBytes };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
