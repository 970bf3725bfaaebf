// The supervisor every child process runs under (conductor, kubo, the relay). A stop must reach a
// child whatever the start is doing, and the child's log file must not outlive the stop.
import { mkdtempSync, readdirSync, readlinkSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SupervisedProcess } from "../src/supervisor/supervised-process.ts";
import { silent } from "./support/inference-fixtures.ts";

const dir = mkdtempSync("/tmp/rm-supervised-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = (name: string, script: string) => ({
  name,
  command: "/bin/sh",
  args: ["-c", script],
  readyWhen: (line: string) => (line === "ready" ? true : undefined),
  readyTimeoutMs: 5000,
  logFile: join(dir, `${name}.log`),
  stopTimeoutMs: 2000,
  startFix: "test",
  pidFile: join(dir, `${name}.pid`),
});

const openFds = (file: string) =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });

describe("a supervised child process", () => {
  it("a stop that lands as the start begins leaves no child running", async () => {
    const proc = new SupervisedProcess(spec("early-stop", "echo ready; exec sleep 30"), silent);
    const started = proc.start();
    await proc.stop();
    await expect(started).rejects.toThrow(/was stopped before it started/);
    expect(proc.pid).toBeUndefined();
  });

  it("output after the child's exit does not reopen its log once stopped", async () => {
    // The shell exits on SIGTERM; its background child still holds the pipe and prints later.
    const proc = new SupervisedProcess(spec("late-output", "echo ready; (sleep 0.3; echo late) & trap 'exit 0' TERM; while :; do sleep 0.05; done"), silent);
    await proc.start();
    const logFile = join(dir, "late-output.log");
    await proc.stop();
    await new Promise((r) => setTimeout(r, 600));
    expect(openFds(logFile)).toEqual([]);
    expect(readFileSync(logFile, "utf8")).toContain("stdout ready");
  });
});
