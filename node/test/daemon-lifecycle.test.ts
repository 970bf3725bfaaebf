// What `npm start` runs (`ripple up --network local`): alone on the local mesh the node hosts the
// bootstrap/relay server itself, starts the conductor, advertises itself, and on SIGTERM stops
// the conductor (with SIGINT) and exits cleanly. While it runs, `ripple status` reports the resident
// memory of each part (daemon with its loaded models, conductor, kubo, the relay it hosts).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import type { DaemonStatus } from "@ripple-mesh/api-types";
import { modelsDir, repoRoot } from "../src/config/paths.mjs";
import { nodeModelsDir } from "../src/inference/models-dir-file.ts";
import { ripple, rippleJson } from "./support/ripple-process.ts";

const dataDir = mkdtempSync("/tmp/rm-daemon-");
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Processes whose environment holds `marker` (every child the daemon starts inherits its environment). */
function processesMarked(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "utf8").includes(marker)) continue;
      found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").slice(0, 120)}`);
    } catch {
      // ended while we read, or not ours to read
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("the daemon", () => {
  it("starts a local single-node mesh and shuts everything down on SIGTERM", async () => {
    const daemon = spawn(process.execPath, ["node/bin/ripple.mjs", "--data-dir", dataDir, "up", "--network", "local", "--name", "lifecycle", "--no-measure"], {
      cwd: repoRoot,
      env: { ...process.env, RIPPLE_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const logs: Array<Record<string, unknown>> = [];
    const running = new Promise<Record<string, unknown>>((resolve, reject) => {
      createInterface({ input: daemon.stdout }).on("line", (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === "node running on the local mesh; Ctrl-C stops it") resolve(entry);
      });
      daemon.on("exit", (code) => reject(new Error(`daemon exited with ${code}: ${JSON.stringify(logs.slice(-5))}`)));
    });
    const entry = await running;
    const node = entry.node as { name: string; network: string; agentPubKey: string; relayUrl: string; localHost: { self: boolean }; mesh: { state: string } };
    expect(node.name).toBe("lifecycle");
    expect(node.network).toBe("local");
    expect(node.agentPubKey).toMatch(/^uhCAk/);
    expect(node.relayUrl).toMatch(/^http:\/\/[\d.]+:\d+$/);
    expect(node.localHost.self).toBe(true);
    expect(node.mesh.state).toBe("isolated");
    // It recorded where it serves models from: the CLI opens its registry with that directory.
    expect(nodeModelsDir(dataDir)).toBe(modelsDir());

    const children = execFileSync("pgrep", ["-f", `${dataDir}/local/conductor-config.yaml`]).toString().trim().split("\n").map(Number);
    expect(children.length).toBeGreaterThan(0);

    // The daemon loads llama.cpp only when a model first loads (the start-up probe ran in a child);
    // the conductor runs on jemalloc, which setup installs (issue #22).
    const maps = (pid: number) => readFileSync(`/proc/${pid}/maps`, "utf8");
    expect(maps(daemon.pid!)).not.toMatch(/llama-addon\.node/);
    const conductorPid = (await rippleJson<DaemonStatus>(["--data-dir", dataDir, "status"])).conductor!.pid!;
    expect(maps(conductorPid)).toMatch(/libjemalloc\.so/);

    // `ripple status` reports RSS per part: daemon (with its loaded models), conductor, kubo, relay.
    const load = await ripple(["--data-dir", dataDir, "models", "load", "ripple-tiny-test"]);
    expect(load.code, load.stderr).toBe(0);
    const status = await rippleJson<DaemonStatus>(["--data-dir", dataDir, "status"]);
    const mem = status.memory;
    const mib = 2 ** 20;
    /** An independent reading: resident pages from /proc/PID/statm (× 4 KiB pages). */
    const statmBytes = (pid: number) => Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * 4096;
    expect(mem.daemon.pid).toBe(daemon.pid);
    expect(mem.conductor?.pid).toBe(status.conductor?.pid);
    expect(children).toContain(mem.conductor!.pid);
    expect(readFileSync(`/proc/${mem.kubo!.pid}/cmdline`, "utf8")).toMatch(/ipfs|kubo/);
    expect(readFileSync(`/proc/${mem.relay!.pid}/cmdline`, "utf8")).toContain("kitsune2-bootstrap-srv");
    for (const [name, part, min] of [["daemon", mem.daemon, 30], ["conductor", mem.conductor!, 20], ["kubo", mem.kubo!, 10], ["relay", mem.relay!, 1]] as const) {
      expect(part.rssBytes, `${name} RSS`).toBeGreaterThan(min * mib);
      expect(part.rssBytes!, `${name} RSS`).toBeLessThan(4096 * mib);
      const now = statmBytes(part.pid);
      expect(part.rssBytes! / now, `${name}: reported ${part.rssBytes} vs statm ${now}`).toBeGreaterThan(0.5);
      expect(part.rssBytes! / now, `${name}: reported ${part.rssBytes} vs statm ${now}`).toBeLessThan(2);
    }
    expect(mem.models.map((m) => m.name)).toEqual(["ripple-tiny-test"]);
    // Once running, the daemon hands the native memory glibc keeps after start-up back to the OS.
    expect(mem.nativeHeapTrim).toMatchObject({ available: true });
    expect(mem.nativeHeapTrim!.trims).toBeGreaterThanOrEqual(1);
    expect(logs.some((l) => l.msg === "gave freed native memory back to the OS" && typeof l.freedMiB === "number")).toBe(true);
    expect(maps(daemon.pid!)).toMatch(/llama-addon\.node/);
    expect(mem.models[0]!.bytes).toBeGreaterThan(statSync(join(modelsDir(), "ripple-tiny-test.gguf")).size);
    const human = await ripple(["--data-dir", dataDir, "status"]);
    expect(human.stdout).toMatch(/\nmemory\s+daemon \d+ MiB \(models: ripple-tiny-test \d+ MiB\), conductor \d+ MiB, kubo \d+ MiB, relay \d+ MiB\n/);

    const exitCode = new Promise<number | null>((resolve) => daemon.on("exit", (code) => resolve(code)));
    daemon.kill("SIGTERM");
    expect(await exitCode).toBe(0);
    for (const pid of children) expect(alive(pid), `conductor ${pid} still running`).toBe(false);
    expect(logs.some((l) => l.msg === "shutting down" && l.signal === "SIGTERM")).toBe(true);
  });

  // Ctrl-C while the node is still starting is common (a start takes several seconds). The stop must
  // wait for the step under way and stop what it started: before, the start went on after the stop had
  // returned, and the conductor or kubo it spawned then outlived the daemon.
  it.each([
    ["start-up probe", "probing the machine and its inference backend (in a child process)", true],
    ["conductor", "starting the Holochain conductor", false],
    ["ipfs", "starting IPFS (kubo)", false],
  ])("stops cleanly on a SIGTERM during its %s start step: exits 0 and leaves nothing running", async (_step, message, measure) => {
    const dir = mkdtempSync("/tmp/rm-daemon-stop-");
    const marker = `RIPPLE_TEST_MARK=${process.pid}-${Date.now()}`;
    try {
      const daemon = spawn(process.execPath, ["node/bin/ripple.mjs", "--data-dir", dir, "up", "--network", "local", "--name", "stop-early", ...(measure ? [] : ["--no-measure"])], {
        cwd: repoRoot,
        env: { ...process.env, RIPPLE_LOG_LEVEL: "info", RIPPLE_TEST_MARK: marker.split("=")[1] },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const logs: Array<Record<string, unknown>> = [];
      let stderr = "";
      daemon.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exitCode = new Promise<number | null>((resolve) => daemon.on("exit", (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: daemon.stdout }).on("line", (line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === message) resolve();
        });
        void exitCode.then((code) => reject(new Error(`daemon exited with ${code} before "${message}": ${JSON.stringify(logs.slice(-5))}`)));
      });
      const signalled = Date.now();
      daemon.kill("SIGTERM");
      expect(await exitCode, stderr).toBe(0);
      // The step under way is interrupted, not waited for (the probe alone may take minutes).
      expect(Date.now() - signalled).toBeLessThan(20_000);
      expect(stderr).not.toMatch(/error/i);
      expect(logs.some((l) => l.msg === "shutting down" && l.signal === "SIGTERM")).toBe(true);
      expect(logs.some((l) => typeof l.msg === "string" && l.msg.startsWith("node running"))).toBe(false);
      // Children stopped by the daemon are gone when it exits; give a SIGKILLed one a moment to be reaped.
      await new Promise((r) => setTimeout(r, 1000));
      expect(processesMarked(marker)).toEqual([]);
    } finally {
      for (const line of processesMarked(marker)) process.kill(Number(line.split(" ")[0]), "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
