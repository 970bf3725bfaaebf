// glibc's malloc controls the `ripple` process uses (issue #22: an idle node's memory), reached
// through koffi (an FFI with prebuilt per-platform binaries, an optional dependency, kept out of the
// CLI bundle). Plain JavaScript: node/bin/ripple.mjs calls limitMallocArenas before it loads the
// bundle, and the daemon's NativeHeapTrimmer (native-heap-trim.ts) calls malloc_trim.
import { createRequire } from "node:module";

/** mallopt's parameter for the most arenas malloc creates (glibc's malloc.h). */
const M_ARENA_MAX = -8;

/**
 * glibc's malloc_trim and mallopt, or why they cannot be called here (no glibc: macOS, musl; or no
 * koffi binary for this platform).
 * @returns {{ trim: (pad: number) => number, mallopt: (param: number, value: number) => number } | { reason: string }}
 */
export function loadGlibcMalloc() {
  if (process.platform !== "linux") return { reason: `malloc_trim is glibc's; this is ${process.platform}` };
  try {
    const libc = createRequire(import.meta.url)("koffi").load("libc.so.6");
    return { trim: libc.func("int malloc_trim(size_t pad)"), mallopt: libc.func("int mallopt(int param, int value)") };
  } catch (err) {
    return { reason: `malloc_trim could not be loaded (not glibc, or no koffi binary for ${process.platform}-${process.arch}): ${err.message}` };
  }
}

/**
 * Caps the malloc arenas this process's threads may still create. glibc gives each new thread that
 * allocates an arena of its own (up to 8 per core) and keeps what each arena holds; V8's worker
 * threads and libuv's pool each took one. Effective only before the process has more than 8 arenas
 * (glibc then fixes its limit), hence called first thing in ripple.mjs, when Node has 2. Threads
 * that already have an arena keep it; later ones share the existing ones. The daemon's allocations
 * are few and small, and glibc's per-thread caches serve most of them without an arena's lock.
 * @param {number} max
 * @param {() => ({ mallopt: (param: number, value: number) => number } | { reason: string })} [load]
 * @returns {{ limited: number } | { reason: string }}
 */
export function limitMallocArenas(max, load = loadGlibcMalloc) {
  const loaded = load();
  if ("reason" in loaded) return loaded;
  // mallopt returns 1 on success and 0 on error.
  return loaded.mallopt(M_ARENA_MAX, max) === 1 ? { limited: max } : { reason: `mallopt(M_ARENA_MAX, ${max}) was refused` };
}
