// Mistakes a person makes with `ripple`: each gives a message naming what is wrong and how to fix
// it, and a non-zero exit code (2 = command line, 3 = no node running, 1 = anything else).
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ripple, RippleDaemon } from "./support/ripple-process.ts";

const dataDir = RippleDaemon.tempDir("rm-cli-");
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const withData = (...args: string[]) => ["--data-dir", dataDir, ...args];

async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as { port: number }).port };
}

describe("ripple command line errors", () => {
  it("an unknown flag is a usage error (exit 2) that names the flag", async () => {
    const r = await ripple(withData("up", "--bogus"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
  });

  it("a bad flag value names the flag and the accepted range", async () => {
    const r = await ripple(withData("up", "--api-port", "70000"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--api-port.*must be a port number 0-65535/);
  });

  it("an unknown network lists the known ones", async () => {
    const r = await ripple(withData("up", "--network", "moonnet"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown network "moonnet"');
    expect(r.stderr).toContain("use one of local, testnet, mainnet");
    const j = await ripple(withData("join", "moonnet"));
    expect(j.code).toBe(2);
  });

  it("testnet without a bootstrap URL says how to give one", async () => {
    const r = await ripple(withData("up", "--network", "testnet"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("testnet has no bootstrap URL configured");
    expect(r.stderr).toContain("--bootstrap http://HOST:PORT");
  });

  it("an unreachable bootstrap URL fails before the conductor starts", async () => {
    const { server, port } = await holdPort();
    await new Promise<void>((r) => server.close(() => r())); // now nothing listens there
    const r = await ripple(withData("up", "--no-measure", "--network", "testnet", "--bootstrap", `http://127.0.0.1:${port}`));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the bootstrap server http://127.0.0.1:${port} is unreachable`);
    expect(r.stderr).toContain("Fix:");
  });

  it("a port in use names the port and the flag to change", async () => {
    const { server, port } = await holdPort();
    try {
      const api = await ripple(withData("up", "--no-measure", "--api-port", String(port)));
      expect(api.code).toBe(1);
      expect(api.stderr).toContain(`127.0.0.1:${port}`);
      expect(api.stderr).toContain("--api-port");
      const serve = await ripple(withData("bootstrap", "serve", "--listen", `127.0.0.1:${port}`));
      expect(serve.code).toBe(1);
      expect(serve.stderr).toContain(`127.0.0.1:${port} is already in use`);
      expect(serve.stderr).toContain("--listen");
    } finally {
      server.close();
    }
  });

  it("a data directory without permission is refused with the fix", async () => {
    const locked = join(dataDir, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    // Tests run as root, which ignores file modes: drop the capabilities that let it.
    const asUser = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--inh-caps=-dac_override,-dac_read_search,-fowner", "--"];
    const r = await ripple(["--data-dir", join(locked, "node"), "up"], { wrap: asUser });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot use ${join(locked, "node")} as the data directory (EACCES`);
    expect(r.stderr).toContain("--data-dir");
  });

  it("status, peers and down without a running node exit 3 and say how to start one", async () => {
    for (const cmd of ["status", "peers", "down"]) {
      const r = await ripple(withData(cmd));
      expect(r.code, cmd).toBe(3);
      expect(r.stderr, cmd).toContain("ripple up");
    }
  });

  it("--help lists every command and exits 0", async () => {
    const r = await ripple(["--help"]);
    expect(r.code).toBe(0);
    for (const cmd of ["up", "status", "peers", "join", "down", "bootstrap"]) expect(r.stdout).toContain(cmd);
  });
});
