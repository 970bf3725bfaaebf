// How the CLI finds and talks to the daemon: <dataDir>/api.json and LocalApiClient's errors.
import { spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { DaemonUnreachableError, LocalApiClient } from "../src/api/api-client.ts";
import { apiDescriptorPath, NoDaemonRunningError, readApiDescriptor, writeApiDescriptor } from "../src/api/api-descriptor.ts";
import { startLocalApi, type ApiSource } from "../src/api/local-api.ts";
import { RippleError, TimeoutError } from "../src/errors.ts";
import { createLogger } from "../src/log.ts";

const log = createLogger("test", "silent");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function dataDir(): string {
  const d = mkdtempSync("/tmp/rm-api-");
  dirs.push(d);
  return d;
}

function source(overrides: Partial<ApiSource> = {}): ApiSource {
  return {
    status: async () => ({ name: "n1" }),
    peers: async () => [],
    shutdown: vi.fn(async () => {}),
    events: new EventEmitter(),
    ...overrides,
  };
}

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync("true");
  return child.pid!;
}

describe("api.json", () => {
  it("is written 0600 with url, pid and token while the API is up, and removed on close", async () => {
    const dir = dataDir();
    const token = "a-token-of-sixteen-chars";
    const api = await startLocalApi({ log, source: source(), token, dataDir: dir });
    const file = apiDescriptorPath(dir);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ url: api.url, pid: process.pid, token });
    const descriptor = await readApiDescriptor(dir);
    expect(descriptor.url).toBe(api.url);

    const client = await LocalApiClient.forDataDir(dir);
    expect(await client.status()).toEqual({ name: "n1" }); // used the token from api.json

    await api.close();
    expect(existsSync(file)).toBe(false);
    await expect(readApiDescriptor(dir)).rejects.toThrow(NoDaemonRunningError);
    await expect(readApiDescriptor(dir)).rejects.toThrow(`no daemon is running for data dir ${dir}`);
    await expect(LocalApiClient.forDataDir(dir)).rejects.toThrow(/start one with `ripple up`/);
  });

  it("detects a stale descriptor left by a daemon that died", async () => {
    const dir = dataDir();
    const pid = deadPid();
    writeFileSync(apiDescriptorPath(dir), JSON.stringify({ url: "http://127.0.0.1:1", pid, startedAt: new Date().toISOString() }));
    const err = await readApiDescriptor(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoDaemonRunningError);
    expect((err as Error).message).toContain(`no daemon is running for data dir ${dir}`);
    expect((err as Error).message).toContain("stale");
    expect((err as Error).message).toContain(`pid ${pid}`);
    // A new daemon replaces the stale file.
    await writeApiDescriptor(dir, { url: "http://127.0.0.1:2" });
    expect((await readApiDescriptor(dir)).url).toBe("http://127.0.0.1:2");
  });

  it("rejects a descriptor that is not one, naming the file", async () => {
    const dir = dataDir();
    writeFileSync(apiDescriptorPath(dir), JSON.stringify({ url: "http://127.0.0.1:1", pid: process.pid, startedAt: "yesterday", extra: 1 }));
    await expect(readApiDescriptor(dir)).rejects.toThrow(new RegExp(`${apiDescriptorPath(dir)} is not a daemon API descriptor`));
    writeFileSync(apiDescriptorPath(dir), "{");
    await expect(readApiDescriptor(dir)).rejects.toThrow(/is not valid JSON/);
  });

  it("is not replaced while another live daemon owns it", async () => {
    const dir = dataDir();
    // pid 1 is always alive (init of this namespace), and is not us.
    writeFileSync(apiDescriptorPath(dir), JSON.stringify({ url: "http://127.0.0.1:1", pid: 1, startedAt: new Date().toISOString() }));
    await expect(writeApiDescriptor(dir, { url: "http://127.0.0.1:2" })).rejects.toThrow(/already serves data dir/);
  });
});

describe("LocalApiClient errors", () => {
  it("says the daemon is not reachable, and where its logs are, once it has stopped", async () => {
    const dir = dataDir();
    const api = await startLocalApi({ log, source: source() });
    await api.close();
    const client = new LocalApiClient({ url: api.url }, { dataDir: dir, timeoutMs: 2000 });
    const err = await client.status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonUnreachableError);
    expect((err as Error).message).toContain(`not reachable at ${api.url}`);
    expect((err as RippleError).fix).toBe(`is \`ripple up\` still running? see ${join(dir, "logs")}`);

    const events = client.events();
    await expect(events.next()).rejects.toThrow(DaemonUnreachableError);
  });

  it("gives up after its timeout when the daemon does not answer", async () => {
    const api = await startLocalApi({ log, source: source({ status: () => new Promise(() => {}) }) });
    try {
      const client = new LocalApiClient({ url: api.url }, { timeoutMs: 200 });
      const began = Date.now();
      const err = await client.status().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as Error).message).toContain("did not answer GET /v1/status within 200 ms");
      expect(Date.now() - began).toBeLessThan(2000);
    } finally {
      await api.close();
    }
  });
});
