// What `npm start` runs (`ripple up --network local`): alone on the local mesh the node hosts the
// bootstrap/relay server itself, starts the conductor, advertises itself, and on SIGTERM stops
// the conductor (with SIGINT) and exits cleanly.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../src/config/paths.mjs";

const dataDir = mkdtempSync("/tmp/rm-daemon-");
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

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

    const children = execFileSync("pgrep", ["-f", `${dataDir}/local/conductor-config.yaml`]).toString().trim().split("\n").map(Number);
    expect(children.length).toBeGreaterThan(0);

    const exitCode = new Promise<number | null>((resolve) => daemon.on("exit", (code) => resolve(code)));
    daemon.kill("SIGTERM");
    expect(await exitCode).toBe(0);
    for (const pid of children) expect(alive(pid), `conductor ${pid} still running`).toBe(false);
    expect(logs.some((l) => l.msg === "shutting down" && l.signal === "SIGTERM")).toBe(true);
  });
});
