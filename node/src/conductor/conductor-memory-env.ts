// The allocator environment a conductor runs with (issue #22: an idle node's memory).
//
// Holochain is a Rust program on the system malloc. With glibc, memory freed after start-up (wasm
// deserialised, databases opened, the first gossip rounds) stays in the heap and in per-thread arenas
// and is never given back. jemalloc, when this machine has it, returns freed pages on a timer.
// Measured on one idle local node after 120 s (2 cores, RSS of the conductor, single runs): glibc with
// 2 arenas 330 and 305 MB, jemalloc with jemallocConf 292 MB (one arena) and 296 MB twice (default
// arenas), mimalloc 353 MB; conductor CPU over those 115 s: glibc 3.7 s, jemalloc 3.2 s.
//
// Linux only (LD_PRELOAD; the holochain binary links glibc dynamically), from the library directory
// of this machine's architecture. setup installs libjemalloc2 on Debian; elsewhere the conductor runs
// on glibc with 2 arenas. RIPPLE_CONDUCTOR_ALLOCATOR=glibc turns jemalloc off, and so does an
// LD_PRELOAD already set (libfaketime, which the lying-clock test preloads, recurses into
// clock_gettime when loaded after jemalloc: libfaketime#478). MALLOC_ARENA_MAX / MALLOC_CONF in the
// daemon's own environment win (ripple.mjs's first line sets MALLOC_ARENA_MAX=1 for the daemon, so a
// conductor on glibc gets one arena too).
import { existsSync } from "node:fs";

/** Where Debian and Ubuntu (per architecture), Fedora and Arch put jemalloc's shared library. */
export function jemallocCandidates(arch: string = process.arch): string[] {
  const multiarch = arch === "x64" ? "x86_64-linux-gnu" : arch === "arm64" ? "aarch64-linux-gnu" : null;
  return [...(multiarch ? [`/usr/lib/${multiarch}/libjemalloc.so.2`] : []), "/usr/lib64/libjemalloc.so.2", "/usr/lib/libjemalloc.so.2"];
}

/**
 * background_thread: pages are purged by jemalloc's own thread, not only when the program next
 * allocates; narenas 1: one arena for the conductor's ~34 threads, so freed memory is not spread over
 * many; tcache false: no per-thread caches of freed blocks (one idle local node after 180 s: 294 →
 * 285 MB, conductor CPU 8.8 → 8.9 s; in a 2-node mesh after 5 minutes 303 → 294 MB); dirty_decay_ms
 * 1 s: freed pages go back to the OS a second after their last use; muzzy_decay_ms 0: no second,
 * lazily-freed stage kept in RSS. (dirty_decay_ms:0 as well: 283 MB for +11% CPU: not taken.) Every
 * allocation then takes the one arena's lock; the conductor allocates little next to inference.
 */
export const jemallocConf = "background_thread:true,narenas:1,tcache:false,dirty_decay_ms:1000,muzzy_decay_ms:0";

export interface AllocatorChoice {
  allocator: "jemalloc" | "glibc";
  env: NodeJS.ProcessEnv;
}

export function conductorAllocator(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
  exists: (path: string) => boolean = existsSync,
  arch: string = process.arch,
): AllocatorChoice {
  const glibc: AllocatorChoice = { allocator: "glibc", env: { MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? "2" } };
  if (platform !== "linux" || env.RIPPLE_CONDUCTOR_ALLOCATOR === "glibc" || env.LD_PRELOAD) return glibc;
  const lib = jemallocCandidates(arch).find((path) => exists(path));
  if (!lib) return glibc;
  return { allocator: "jemalloc", env: { LD_PRELOAD: lib, MALLOC_CONF: env.MALLOC_CONF ?? jemallocConf } };
}
