// The daemon hands the native memory glibc keeps after frees back to the OS (issue #22): a process
// with ~60 MB freed in the middle of its heap loses it from its RSS after one trim; the timer trims
// again and stops; where malloc_trim is not available the state says why and nothing is called.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../src/config/paths.mjs";
import { loadMallocTrim, NativeHeapTrimmer } from "../src/supervisor/native-heap-trim.ts";

const mib = 2 ** 20;
const quietLog = () => pino({ level: "silent" });

describe("native heap trim", () => {
  it("gives a heap's freed middle back to the OS (a child process, glibc on this machine)", () => {
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", join(repoRoot, "node/test/support/heap-trim-child.ts")], { encoding: "utf8", timeout: 60_000 });
    const result = JSON.parse(out.trim().split("\n").pop()!) as { rssBefore: number; rssAfter: number; state: { available: boolean; trims: number; lastFreedBytes: number }; logs: Array<{ msg: string; freedMiB?: number }> };
    expect(result.state.available).toBe(true);
    expect(result.state.trims).toBe(1);
    // 30,000 × 2 KB blocks were freed (~60 MB with malloc's headers); most of it comes back.
    expect(result.rssBefore - result.rssAfter, `RSS ${result.rssBefore} → ${result.rssAfter}`).toBeGreaterThan(40 * mib);
    expect(result.state.lastFreedBytes).toBeGreaterThan(40 * mib);
    const line = result.logs.find((l) => l.msg === "gave freed native memory back to the OS");
    expect(line?.freedMiB).toBeGreaterThan(40);
  });

  it("trims again on its timer until stopped", async () => {
    const trimmer = NativeHeapTrimmer.start({ intervalMs: 20, log: quietLog() });
    await new Promise((r) => setTimeout(r, 200));
    const running = trimmer.state().trims;
    expect(running).toBeGreaterThanOrEqual(3);
    trimmer.stop();
    await new Promise((r) => setTimeout(r, 100));
    const after = trimmer.state().trims;
    await new Promise((r) => setTimeout(r, 100));
    expect(trimmer.state().trims).toBe(after);
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
    const loaded = loadMallocTrim();
    expect("trim" in loaded, JSON.stringify(loaded)).toBe(true);
  });
});
