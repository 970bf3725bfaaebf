// Direct model transfers (direct-transfer-*.ts, block-pull.ts), in process with real TLS and two
// real kubo nodes (the puller plans the DAG through its own kubo, which fetches the inner blocks
// from the publisher's): a pull reads leaf ranges straight from providers' files, checks each leaf
// against its CID and the file against its sha256; a provider that sends other bytes, or stops
// midway, is dropped and the pull completes from the other provider or from kubo. Tickets: a wrong
// key, an expired ticket and a request outside the file get nothing.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { connect as connectTcp, createServer, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlockPull, DirectLeafMismatchError, type DirectSource } from "../src/artifacts/block-pull.ts";
import { DirectConnection, DirectTransferError } from "../src/artifacts/direct-transfer-client.ts";
import { DirectTransferServer, MAX_SOCKETS_PER_ADDRESS } from "../src/artifacts/direct-transfer-server.ts";
import { CID, IpfsStore } from "../src/artifacts/ipfs-store.ts";
import { KuboNode } from "../src/artifacts/kubo-supervisor.ts";
import { binDir } from "../src/config/paths.mjs";
import { TestFleet } from "./support/test-fleet.ts";
import { cidOf, DAG_PB, pbNode, RAW, unixfsFile } from "./support/unixfs-fixtures.ts";

const fleet = new TestFleet();
const log = pino({ level: "warn" });
const MiB = 1024 * 1024;
const SIZE = 24 * MiB + 12_345; // 25 leaves, the last one short
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("direct model transfer between providers' files and a puller", { timeout: 300_000 }, () => {
  const dir = fleet.tempDir("rm-direct-");
  const file = join(dir, "model.gguf");
  const tampered = join(dir, "tampered.gguf");
  const content = randomBytes(SIZE);
  let publisher: KuboNode, puller: KuboNode;
  let pullerIpfs: IpfsStore;
  let cid = "";
  const servers: DirectTransferServer[] = [];

  const startKubo = (name: string) => KuboNode.start({ ipfsBinary: join(binDir(), "ipfs"), repoDir: join(dir, name), logFile: join(dir, `${name}.log`), privateSwarmSeed: "direct-test", swarmPort: 0, swarmBind: "loopback", log });
  const server = async () => {
    const s = new DirectTransferServer({ host: "127.0.0.1", port: 0, log });
    await s.start();
    servers.push(s);
    return s;
  };
  const source = (name: string, s: DirectTransferServer, path: string): DirectSource => {
    const t = s.issue(path, SIZE, "peer-a")!;
    return { name, open: () => DirectConnection.open({ host: "127.0.0.1", port: s.port, identity: t.identity, key: t.key }, { timeoutMs: 5000, stallMs: 10_000 }) };
  };
  /** One pull into a fresh file; returns the pull and what each dropped source failed with. */
  const pull = async (direct: DirectSource[], o: { onBytes?: (written: number) => void } = {}) => {
    const out = join(dir, `pulled-${randomBytes(4).toString("hex")}.gguf`);
    const fh = await open(out, "w");
    const dropped = new Map<string, Error>();
    const p = new BlockPull({ ipfs: pullerIpfs, cid, maxBytes: SIZE, file: fh, blockTimeoutMs: 30_000, direct, directBatchLeaves: 4, onDirectFailure: (name, err) => dropped.set(name, err), ...(o.onBytes ? { onBytes: (w) => o.onBytes!(w) } : {}) });
    try {
      await p.run();
    } finally {
      await fh.close();
    }
    return { p, dropped, bytes: readFileSync(out) };
  };

  beforeAll(async () => {
    writeFileSync(file, content);
    const bad = Buffer.from(content);
    bad[5 * MiB + 17] = bad[5 * MiB + 17]! ^ 0xff; // one byte of leaf 5
    writeFileSync(tampered, bad);
    [publisher, puller] = await Promise.all([startKubo("publisher"), startKubo("puller")]);
    const pubIpfs = new IpfsStore({ apiUrl: () => publisher.endpoints.apiUrl, timeoutMs: 30_000 });
    pullerIpfs = new IpfsStore({ apiUrl: () => puller.endpoints.apiUrl, timeoutMs: 30_000 });
    cid = await pubIpfs.addFile(file, { chunker: "size-1048576", rawLeaves: true, cidVersion: 1 });
    await pullerIpfs.peer((await pubIpfs.id()).addrs[0]!);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all([publisher?.stop(), puller?.stop()]);
  });

  it("reads every leaf from two providers directly, checked against the CID and the sha256", async () => {
    const [a, b] = await Promise.all([server(), server()]);
    const { p, dropped, bytes } = await pull([source("a", a, file), source("b", b, file)]);
    expect(dropped.size).toBe(0);
    expect(p.result()).toEqual({ bytes: SIZE, sha256: sha(content) });
    expect(p.directBytes).toBe(SIZE);
    expect(sha(bytes)).toBe(sha(content));
    // Both providers served a share.
    expect(a.bytesSent).toBeGreaterThan(0);
    expect(b.bytesSent).toBeGreaterThan(0);
    expect(a.bytesSent + b.bytesSent).toBe(SIZE);
  });

  it("drops a provider whose bytes do not hash to the leaf's CID and completes from the other", async () => {
    const [good, liar] = await Promise.all([server(), server()]);
    // The liar gets the first ranges: its tampered leaf 5 is in its first or second range.
    const { p, dropped, bytes } = await pull([source("liar", liar, tampered), source("good", good, file)]);
    expect(dropped.get("liar")).toBeInstanceOf(DirectLeafMismatchError);
    expect(dropped.get("liar")!.message).toMatch(/do not hash to its CID/);
    expect(dropped.get("good")?.message).toBeUndefined();
    expect(p.result()).toEqual({ bytes: SIZE, sha256: sha(content) });
    expect(sha(bytes)).toBe(sha(content));
  });

  it("falls back to kubo for what no provider delivers, and goes on when a provider stops midway", async () => {
    const liar = await server();
    const onlyLiar = await pull([source("liar", liar, tampered)]);
    expect(onlyLiar.dropped.get("liar")).toBeInstanceOf(DirectLeafMismatchError);
    expect(onlyLiar.p.result()?.sha256).toBe(sha(content));
    expect(onlyLiar.p.directBytes).toBeLessThan(SIZE); // the rest came through kubo

    const [dies, stays] = await Promise.all([server(), server()]);
    let stopped = false;
    const { p, dropped } = await pull([source("dies", dies, file), source("stays", stays, file)], {
      onBytes: (w) => {
        if (!stopped && w > SIZE / 4) {
          stopped = true;
          void dies.stop(); // closes its connections mid-range
        }
      },
    });
    expect(stopped).toBe(true);
    expect(dropped.get("dies")).toBeInstanceOf(DirectTransferError);
    expect(p.result()).toEqual({ bytes: SIZE, sha256: sha(content) });
    expect(stays.bytesSent).toBeGreaterThan(SIZE / 4);
  });

  it("does not stall on a DAG whose own data or non-raw leaves only kubo can give (they fill the gaps)", async () => {
    // A root with 100 bytes of its own data, 30 raw leaves and, among them, one dag-pb leaf; the
    // pull's window (4 leaves) is far smaller than the file, so a gap nobody fills would stall it.
    const blocks = new Map<string, Uint8Array>();
    const own = randomBytes(100);
    const children = Array.from({ length: 31 }, (_, i) => {
      const data = randomBytes(4096);
      if (i === 15) {
        const block = pbNode([], unixfsFile(data, []));
        const cid = cidOf(DAG_PB, block).toString();
        blocks.set(cid, block);
        return { cid, data };
      }
      const cid = cidOf(RAW, data).toString();
      blocks.set(cid, data);
      return { cid, data };
    });
    const root = pbNode(children.map((c) => CID.parse(c.cid)), unixfsFile(own, children.map((c) => c.data.length)));
    const rootCid = cidOf(DAG_PB, root).toString();
    blocks.set(rootCid, root);
    const whole = Buffer.concat([own, ...children.map((c) => c.data)]);
    const path = join(dir, "odd-dag.bin");
    writeFileSync(path, whole);
    const fakeIpfs = { blockGet: async (cid: string) => blocks.get(cid) ?? Promise.reject(new Error(`no block ${cid}`)) } as unknown as IpfsStore;
    const s = await server();
    const t = s.issue(path, whole.length, "peer-a")!;
    const out = await open(join(dir, "odd-dag.out"), "w");
    const p = new BlockPull({
      ipfs: fakeIpfs,
      cid: rootCid,
      maxBytes: whole.length,
      file: out,
      blockTimeoutMs: 5000,
      concurrency: 1,
      window: 4,
      directBatchLeaves: 2,
      direct: [{ name: "odd", open: () => DirectConnection.open({ host: "127.0.0.1", port: s.port, identity: t.identity, key: t.key }, { timeoutMs: 5000, stallMs: 5000 }) }],
    });
    try {
      await Promise.race([p.run(), new Promise((_, reject) => setTimeout(() => reject(new Error("the pull stalled")), 20_000))]);
    } finally {
      await out.close();
    }
    expect(p.result()).toEqual({ bytes: whole.length, sha256: sha(whole) });
    expect(p.directBytes).toBeGreaterThan(0);
    expect(p.directBytes).toBeLessThanOrEqual(30 * 4096);
    expect(sha(readFileSync(join(dir, "odd-dag.out")))).toBe(sha(whole));
  });

  it("admits at most maxConnectionsPerTicket at once, and survives a file shorter than its ticket says", async () => {
    const s = new DirectTransferServer({ host: "127.0.0.1", port: 0, log, maxConnectionsPerTicket: 2 });
    await s.start();
    servers.push(s);
    const t = s.issue(file, SIZE, "peer-a")!;
    const connect = () => DirectConnection.open({ host: "127.0.0.1", port: s.port, identity: t.identity, key: t.key }, { timeoutMs: 5000, stallMs: 5000 });
    const opened = await Promise.allSettled([connect(), connect(), connect()]);
    expect(opened.filter((o) => o.status === "fulfilled")).toHaveLength(2);
    for (const o of opened) if (o.status === "fulfilled") o.value.close();
    // The file shrank after the ticket was issued: the read fails, the connection closes, the server lives on.
    const short = join(dir, "short.gguf");
    writeFileSync(short, content.subarray(0, 3 * MiB));
    const ts = s.issue(short, SIZE, "peer-a")!;
    const conn = await DirectConnection.open({ host: "127.0.0.1", port: s.port, identity: ts.identity, key: ts.key }, { timeoutMs: 5000, stallMs: 5000 });
    await expect(conn.read(2 * MiB, 4 * MiB, () => undefined)).rejects.toThrow(DirectTransferError);
    await new Promise((r) => setTimeout(r, 200));
    const again = await connect();
    const got: Buffer[] = [];
    await again.read(0, 64, (c) => void got.push(c));
    expect(Buffer.concat(got).equals(content.subarray(0, 64))).toBe(true);
    again.close();
  });

  it("one peer cannot take every ticket or connection from the others", async () => {
    const s = new DirectTransferServer({ host: "127.0.0.1", port: 0, log, maxTicketsPerPeer: 2, maxConnectionsPerPeer: 3 });
    await s.start();
    servers.push(s);
    const a1 = s.issue(file, SIZE, "peer-a")!;
    const a2 = s.issue(file, SIZE, "peer-a")!;
    expect(s.issue(file, SIZE, "peer-a")).toBeNull(); // peer-a asking in a loop: 2 at most
    const b1 = s.issue(file, SIZE, "peer-b");
    expect(b1).not.toBeNull(); // the others still get theirs
    const connect = (t: { identity: string; key: Buffer }) => DirectConnection.open({ host: "127.0.0.1", port: s.port, identity: t.identity, key: t.key }, { timeoutMs: 5000, stallMs: 5000 });
    const open = [await connect(a1), await connect(a1), await connect(a2)];
    await expect(connect(a2)).rejects.toThrow(DirectTransferError); // 3 over both of peer-a's tickets
    const b = await connect(b1!);
    const got: Buffer[] = [];
    await b.read(0, 100, (c) => void got.push(c));
    expect(Buffer.concat(got).equals(content.subarray(0, 100))).toBe(true);
    open[0]!.close();
    await new Promise((r) => setTimeout(r, 100));
    (await connect(a2)).close(); // a closed connection makes room again
    for (const c of [...open.slice(1), b]) c.close();
  });

  it("sockets that never finish their handshake hold no ticket holder's connection, are capped per address, and are cut after 3 s", async () => {
    const s = new DirectTransferServer({ host: "127.0.0.1", port: 0, log, maxConnections: 2 });
    await s.start();
    servers.push(s);
    const idle = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const sock = connectTcp(s.port, "127.0.0.1", () => resolve(sock));
        sock.on("error", reject);
      });
    const closedWithin = (sock: Socket, ms: number) => new Promise<boolean>((r) => (sock.destroyed ? r(true) : (sock.once("close", () => r(true)), setTimeout(() => r(false), ms))));
    const silent = await Promise.all(Array.from({ length: 3 }, idle));
    // Three silent sockets: the two connections maxConnections allows still go to ticket holders.
    const t = s.issue(file, SIZE, "peer-a")!;
    const connect = () => DirectConnection.open({ host: "127.0.0.1", port: s.port, identity: t.identity, key: t.key }, { timeoutMs: 5000, stallMs: 5000 });
    const served = [await connect(), await connect()];
    await expect(connect()).rejects.toThrow(DirectTransferError);
    // One address holds at most MAX_SOCKETS_PER_ADDRESS sockets: the next one is closed at once.
    const more = await Promise.all(Array.from({ length: MAX_SOCKETS_PER_ADDRESS - 3 - 2 }, idle));
    expect(await closedWithin(await idle(), 1000)).toBe(true);
    // The silent ones are cut by the handshake timeout.
    expect((await Promise.all([...silent, ...more].map((x) => closedWithin(x, 4500)))).every(Boolean)).toBe(true);
    for (const c of served) c.close();
  });

  it("serves nothing without the ticket's key, after the ticket expires, outside the file, or after it stops", async () => {
    let now = Date.now();
    const s = new DirectTransferServer({ host: "127.0.0.1", port: 0, log, ticketTtlMs: 1000, maxTickets: 2, now: () => now });
    await s.start();
    servers.push(s);
    const t = s.issue(file, SIZE, "peer-a")!;
    expect(s.issue(file, SIZE, "peer-a")).not.toBeNull();
    expect(s.issue(file, SIZE, "peer-a")).toBeNull(); // at most 2 alive
    const connect = (key: Buffer, identity = t.identity) => DirectConnection.open({ host: "127.0.0.1", port: s.port, identity, key }, { timeoutMs: 5000, stallMs: 5000 });
    await expect(connect(randomBytes(32))).rejects.toThrow(DirectTransferError);
    await expect(connect(t.key, "0".repeat(24))).rejects.toThrow(DirectTransferError);
    const ok = await connect(t.key);
    const idle = await connect(t.key); // stays open; used once the server has stopped
    const got: Buffer[] = [];
    await ok.read(MiB, 1000, (c) => void got.push(c));
    expect(Buffer.concat(got).equals(content.subarray(MiB, MiB + 1000))).toBe(true);
    // Past the end of the file: the server closes the connection.
    await expect(ok.read(SIZE - 10, 20, () => undefined)).rejects.toThrow(/closed the connection/);
    now += 2000; // the ticket opens no new connection once expired
    await expect(connect(t.key)).rejects.toThrow(DirectTransferError);
    ok.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(s.issue(file, SIZE, "peer-a")).not.toBeNull(); // expired tickets without connections make room
    // A stopping server closes its connections: a later read on one fails at once (it does not wait).
    await s.stop();
    await new Promise((r) => setTimeout(r, 100));
    await expect(idle.read(0, 10, () => undefined)).rejects.toThrow(/closed the connection/);
    expect(s.bytesSent).toBe(1000);
  });

  it("stops connecting at once when the pull is cancelled, not at the connect timeout", async () => {
    // A peer that accepts TCP and never answers the TLS handshake.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const ep = { host: "127.0.0.1", port, identity: "0".repeat(24), key: randomBytes(32) };
      const cancel = new AbortController();
      const started = performance.now();
      setTimeout(() => cancel.abort(), 200);
      await expect(DirectConnection.open(ep, { timeoutMs: 10_000, stallMs: 5000, signal: cancel.signal })).rejects.toThrow(/cancelled/);
      expect(performance.now() - started).toBeLessThan(5000);
      await expect(DirectConnection.open(ep, { timeoutMs: 10_000, stallMs: 5000, signal: cancel.signal })).rejects.toThrow(/cancelled/);
      // Without a cancel, the connect timeout still ends the wait.
      await expect(DirectConnection.open(ep, { timeoutMs: 300, stallMs: 5000 })).rejects.toThrow(/no TLS handshake .* within 300 ms/);
    } finally {
      silent.close();
    }
  });
});
