// The daemon's last resort when a stop overruns its deadline: find its own children in /proc and
// kill them (node/src/daemon/child-processes.ts). The children here belong to a shell started for
// the test, so that nothing of the test runner's own is touched.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { childPids, signalChildren } from "../src/daemon/child-processes.ts";

describe.runIf(process.platform === "linux")("child processes", () => {
  it("lists a process's direct children (not grandchildren) and kills them", async () => {
    const shell = spawn("sh", ["-c", "sleep 30 & sh -c 'sleep 30 & wait' & wait"], { stdio: "ignore" });
    const shellExited = new Promise((resolve) => shell.on("exit", resolve));
    await new Promise((r) => setTimeout(r, 300));
    expect(childPids()).toContain(shell.pid);
    const children = childPids(shell.pid!);
    expect(children).toHaveLength(2);
    const grandchildren = children.flatMap((pid) => childPids(pid));
    expect(grandchildren).toHaveLength(1);
    expect(children).not.toContain(grandchildren[0]);
    expect(signalChildren("SIGKILL", shell.pid!).sort()).toEqual([...children].sort());
    await shellExited; // its `wait` returns once both children are gone
    expect(childPids(shell.pid!)).toEqual([]);
    process.kill(grandchildren[0]!, "SIGKILL");
  });
});
