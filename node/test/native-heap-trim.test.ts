// The daemon hands the native memory glibc keeps after frees back to the OS (issue #22): a process
// with ~60 MB freed in the middle of its heap loses it from its RSS after one trim; the timer trims
// again and stops; where malloc_trim is not available the state says why and nothing is called. Threads
// started after limitMallocArenas (ripple.mjs's first call) take no malloc arena of their own.
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../src/config/paths.mjs";
import { formatMemory } from "../src/cli/format.ts";
import { NativeHeapTrimmer } from "../src/supervisor/native-heap-trim.ts";
import { limitMallocArenas, loadGlibcMalloc } from "../src/supervisor/glibc-malloc.mjs";
import { waitFor } from "./support/wait-for.ts";

const mib = 2 ** 20;
const quietLog = () => pino({ level: "silent" });

describe("native heap trim", () => {
  it("gives a heap's freed middle back to the OS (a child process, glibc on this machine)", () => {
    // glibc's own trim of its heap's top is off (1 GiB threshold): wherever malloc put the blocks, the
    // memory freed with them stays until malloc_trim.
    const env = { ...process.env, GLIBC_TUNABLES: "glibc.malloc.trim_threshold=1073741824" };
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", join(repoRoot, "node/test/support/heap-trim-child.ts")], { encoding: "utf8", timeout: 60_000, cwd: repoRoot, env });
    const result = JSON.parse(out.trim().split("\n").pop()!) as { rssStart: number; rssBefore: number; rssAfter: number; state: { available: boolean; trims: number; lastFreedBytes: number }; logs: Array<{ msg: string; freedMiB?: number }> };
    expect(result.state.available).toBe(true);
    // The freed blocks were still resident before the trim (else the trim had nothing to show).
    expect(result.rssBefore - result.rssStart, `RSS ${result.rssStart} at start → ${result.rssBefore} after the frees`).toBeGreaterThan(40 * mib);
    expect(result.state.trims).toBe(1);
    // 30,000 × 2 KB blocks were freed (~60 MB with malloc's headers); most of it comes back.
    expect(result.rssBefore - result.rssAfter, `RSS ${result.rssBefore} → ${result.rssAfter}`).toBeGreaterThan(40 * mib);
    expect(result.state.lastFreedBytes).toBeGreaterThan(40 * mib);
    const line = result.logs.find((l) => l.msg === "gave freed native memory back to the OS");
    expect(line?.freedMiB).toBeGreaterThan(40);
  });

  it("trims again on its timer until stopped", async () => {
    const trimmer = NativeHeapTrimmer.start({ intervalMs: 20, log: quietLog() });
    try {
      await waitFor("three trims", async () => (trimmer.state().trims >= 3 ? true : undefined), { timeoutMs: 10_000, intervalMs: 10 });
    } finally {
      trimmer.stop();
    }
    const after = trimmer.state().trims;
    await new Promise((r) => setTimeout(r, 150));
    expect(trimmer.state().trims).toBe(after);
  });

  it("refuses an interval setInterval cannot keep, naming the range", () => {
    for (const intervalMs of [-1, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => NativeHeapTrimmer.start({ intervalMs, log: quietLog() })).toThrow(/outside 0\.\.2147483647/);
    }
  });

  it("turns itself off, saying why, when a trim throws (the timer must not end the daemon)", () => {
    const trimmer = NativeHeapTrimmer.start({ intervalMs: 10, log: quietLog(), load: () => ({ trim: () => { throw new Error("boom"); } }) });
    expect(trimmer.state()).toMatchObject({ available: false, reason: "malloc_trim failed: boom", trims: 0 });
    expect(trimmer.trimNow()).toBe(0);
    trimmer.stop();
  });

  it("ripple status's memory line says when freed native memory is not given back", () => {
    const base = { daemon: { pid: 1, rssBytes: 100 * mib }, conductor: null, kubo: null, relay: null, models: [] };
    expect(formatMemory({ ...base, nativeHeapTrim: { available: true, trims: 2, lastFreedBytes: 0 } })).toBe("daemon 100 MiB");
    expect(formatMemory({ ...base, nativeHeapTrim: { available: false, reason: "malloc_trim is glibc's; this is darwin", trims: 0, lastFreedBytes: 0 } })).toBe(
      "daemon 100 MiB; freed native memory is not given back (malloc_trim is glibc's; this is darwin)",
    );
  });

  it("says why, and trims nothing, where malloc_trim cannot be loaded", () => {
    const logs: Array<{ msg: string; reason?: string }> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const trimmer = NativeHeapTrimmer.start({ intervalMs: 10, log, load: () => ({ reason: "malloc_trim is glibc's; this is darwin" }) });
    expect(trimmer.state()).toEqual({ available: false, reason: "malloc_trim is glibc's; this is darwin", trims: 0, lastFreedBytes: 0 });
    expect(trimmer.trimNow()).toBe(0);
    expect(logs.find((l) => l.msg === "freed native memory stays with the daemon")?.reason).toContain("darwin");
    trimmer.stop();
  });

  it("loads glibc's malloc_trim here (Linux, glibc)", () => {
    const loaded = loadGlibcMalloc();
    expect("trim" in loaded, JSON.stringify(loaded)).toBe(true);
  });

  it("gives threads started after limitMallocArenas(1) no arenas of their own (a child process with four workers)", () => {
    const arenas = (mode: "limit" | "none") => {
      const child = spawnSync(process.execPath, [join(repoRoot, "node/test/support/arena-child.mjs"), mode], { encoding: "utf8", timeout: 60_000, cwd: repoRoot });
      expect(child.status, child.stderr).toBe(0);
      const count = (label: string) => /=== LABEL\n([\s\S]*?)=== end/.source.replace("LABEL", label);
      const block = (label: string) => new RegExp(count(label)).exec(child.stderr)?.[1] ?? "";
      return { before: block("before").match(/^Arena \d+:/gm)?.length ?? 0, after: block("after").match(/^Arena \d+:/gm)?.length ?? 0 };
    };
    const limited = arenas("limit");
    const unlimited = arenas("none");
    expect(limited.before, "glibc's malloc_stats printed no arena").toBeGreaterThan(0);
    // glibc's default: each new thread that allocates gets an arena of its own.
    expect(unlimited.after - unlimited.before, JSON.stringify(unlimited)).toBeGreaterThanOrEqual(2);
    expect(limited.after, JSON.stringify(limited)).toBe(limited.before);
  });

  it("says why it cannot limit arenas, and passes glibc's refusal on", () => {
    expect(limitMallocArenas(1, () => ({ reason: "malloc_trim is glibc's; this is darwin" }))).toEqual({ reason: "malloc_trim is glibc's; this is darwin" });
    const calls: number[][] = [];
    expect(limitMallocArenas(2, () => ({ mallopt: (p: number, v: number) => (calls.push([p, v]), 0) }))).toEqual({ reason: "mallopt(M_ARENA_MAX, 2) was refused" });
    expect(limitMallocArenas(1, () => ({ mallopt: (p: number, v: number) => (calls.push([p, v]), 1) }))).toEqual({ limited: 1 });
    // M_ARENA_MAX is -8 in glibc's malloc.h.
    expect(calls).toEqual([[-8, 2], [-8, 1]]);
  });
});
