// The kubo seam on real kubo nodes (no conductor): the supervisor inits a repo with the mesh's
// config, reads back its real API address, restarts a SIGKILLed kubo on the same address; the
// private swarm lets nodes of one mesh (same seed) connect and keeps another mesh's node out;
// content added on one node is read on a peered one; a missing binary is named.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { binDir } from "../src/config/paths.mjs";
import { IpfsStore } from "../src/artifacts/ipfs-store.ts";
import { freeTcpPort, KuboError, KuboNode, swarmKeyFor } from "../src/artifacts/kubo-supervisor.ts";
import { waitFor } from "./support/wait-for.ts";

const log = pino({ level: process.env.RIPPLE_LOG_LEVEL ?? "warn" });
const dirs: string[] = [];
const nodes: KuboNode[] = [];
const ipfsBinary = join(binDir(), "ipfs");

function tmp(): string {
  const d = mkdtempSync("/tmp/rm-kubo-");
  dirs.push(d);
  return d;
}

async function startKubo(seed: string | undefined): Promise<{ kubo: KuboNode; ipfs: IpfsStore }> {
  const dir = tmp();
  const kubo = await KuboNode.start({
    ipfsBinary,
    repoDir: join(dir, "ipfs"),
    logFile: join(dir, "kubo.log"),
    ...(seed ? { privateSwarmSeed: seed } : {}),
    swarmPort: 0,
    swarmBind: "loopback",
    log,
    restartPolicy: { initialDelayMs: 100, maxDelayMs: 2000, stableAfterMs: 60_000 },
  });
  nodes.push(kubo);
  return { kubo, ipfs: new IpfsStore({ apiUrl: () => kubo.endpoints.apiUrl, timeoutMs: 10_000 }) };
}

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

describe("kubo supervisor and IPFS seam", { timeout: 120_000 }, () => {
  it("names a missing ipfs binary", async () => {
    await expect(KuboNode.start({ ipfsBinary: "/nonexistent/ipfs", repoDir: join(tmp(), "r"), logFile: join(tmp(), "l"), swarmPort: 0, swarmBind: "loopback", log })).rejects.toThrow(
      /kubo's `ipfs` binary is missing \(\/nonexistent\/ipfs\).*npm run setup/,
    );
    await expect(KuboNode.external("http://127.0.0.1:9", log)).rejects.toBeInstanceOf(KuboError);
  });

  it("a start aborted while kubo comes up stops that kubo and rejects at once", async () => {
    const dir = tmp();
    const repoDir = join(dir, "ipfs");
    /** Pids of processes running on this repo (kubo inherits IPFS_PATH). */
    const onRepo = () =>
      readdirSync("/proc")
        .filter((n) => /^\d+$/.test(n))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`IPFS_PATH=${repoDir}`) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("daemon");
          } catch {
            return false;
          }
        });
    const abort = new AbortController();
    const started = KuboNode.start({ ipfsBinary, repoDir, logFile: join(dir, "kubo.log"), swarmPort: 0, swarmBind: "loopback", log, signal: abort.signal });
    const outcome = started.then(
      (k) => (nodes.push(k), "started"),
      (err: Error) => err.message,
    );
    // Abort as soon as the daemon process exists, before it says it is ready.
    await waitFor("kubo's daemon process", async () => (onRepo().length ? true : undefined), { timeoutMs: 30_000, intervalMs: 10 });
    const t0 = Date.now();
    abort.abort();
    expect(await outcome).toMatch(/kubo .*(stopped|exited during start-up)/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(onRepo()).toEqual([]);
  });

  it("derives one swarm key per network seed", () => {
    expect(swarmKeyFor("ripple-mesh/local")).toBe(swarmKeyFor("ripple-mesh/local"));
    expect(swarmKeyFor("ripple-mesh/local")).not.toBe(swarmKeyFor("other"));
    expect(swarmKeyFor("x")).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/);
  });

  it("peers two kubo nodes of one private mesh, moves content between them, keeps another mesh out, and restarts a killed kubo", async () => {
    const seed = `test-${randomBytes(4).toString("hex")}`;
    const [a, b, outsider] = await Promise.all([startKubo(seed), startKubo(seed), startKubo(`${seed}-other`)]);
    expect(a.kubo.endpoints.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const config = JSON.parse(readFileSync(join(a.kubo.repoDir!, "config"), "utf8"));
    expect(config.Bootstrap).toEqual([]);
    expect(config.Routing.Type).toBe("none");
    expect(config.Addresses.API).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/);
    expect(config.Addresses.Gateway).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/);

    const ida = await a.ipfs.id();
    expect(ida.addrs.every((x) => x.startsWith("/ip4/127.0.0.1/tcp/"))).toBe(true);
    await b.ipfs.peer(ida.addrs[0]!);
    await waitFor("b connected to a", async () => ((await b.ipfs.connectedPeers()).includes(ida.peerId) ? true : undefined), { timeoutMs: 10_000 });

    // Another mesh's kubo (another swarm key) cannot connect.
    await outsider.ipfs.peer(ida.addrs[0]!).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await outsider.ipfs.connectedPeers()).not.toContain(ida.peerId);

    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const { cid } = await a.ipfs.addBytes(bytes);
    expect(await a.ipfs.isPinned(cid)).toBe(true);
    const got = await b.ipfs.readAll(cid, { maxBytes: 8 * 1024 * 1024 });
    expect(createHash("sha256").update(got).digest("hex")).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(await b.ipfs.isPinned(cid)).toBe(false);
    // Offline reads on the outsider fail fast: it never had the content.
    await expect(outsider.ipfs.readAll(cid, { maxBytes: 1e7, offline: true, timeoutMs: 3000 })).rejects.toThrow();

    // SIGKILL: the supervisor restarts kubo on the same API address, and the content is still there.
    const before = a.kubo.endpoints.apiUrl;
    const pid = a.kubo.pid!;
    process.kill(pid, "SIGKILL");
    await waitFor("kubo restarted", async () => (a.kubo.restarts === 1 && a.kubo.up ? true : undefined), { timeoutMs: 30_000 });
    expect(a.kubo.pid).not.toBe(pid);
    expect(a.kubo.endpoints.apiUrl).toBe(before);
    expect((await a.ipfs.readAll(cid, { maxBytes: 8 * 1024 * 1024, offline: true })).length).toBe(bytes.length);
  });
  it("starts with three distinct ports even when its config names one port three times", async () => {
    // Two back-to-back free-port picks can return the same port; kubo then failed to bind its API.
    const first = await startKubo(undefined);
    const repoDir = first.kubo.repoDir!;
    await first.kubo.stop();
    const port = await freeTcpPort();
    const file = join(repoDir, "config");
    const config = JSON.parse(readFileSync(file, "utf8"));
    config.Addresses.API = config.Addresses.Gateway = `/ip4/127.0.0.1/tcp/${port}`;
    config.Addresses.Swarm = [`/ip4/127.0.0.1/tcp/${port}`];
    writeFileSync(file, JSON.stringify(config));

    const again = await KuboNode.start({ ipfsBinary, repoDir, logFile: join(tmp(), "kubo.log"), swarmPort: 0, swarmBind: "loopback", log });
    nodes.push(again);
    const after = JSON.parse(readFileSync(file, "utf8"));
    const ports = [after.Addresses.API, after.Addresses.Gateway, after.Addresses.Swarm[0]].map((a: string) => Number(/tcp\/(\d+)/.exec(a)![1]));
    expect(new Set(ports).size).toBe(3);
    expect(again.endpoints.apiUrl).toBe(`http://127.0.0.1:${ports[0]}`);
  });
});

