// Artifacts benchmark (run inside the loopback-only namespace):
//   node node/setup/in-loopback-netns.mjs npx tsx node/bench/artifacts-bench.ts
// 1. kubo → kubo: the default GGUF (Qwen, 491 MB) added to two bare kubo nodes and fetched by CID on
//    a fresh peered one, through kubo (`cat`, streamed, from 1 provider; block-pull.ts: parallel
//    `block/get`, written in place, sha256 + CID checked on the way, from 1 and 2 providers) and
//    straight from providers' files (direct-transfer-*.ts: TLS-PSK ranges from 1 and 2 provider
//    processes, each leaf checked against its CID, the file against its sha256), against a local
//    file copy (read + write + fsync) of the same file: the ratio of throughputs (target ≥ 0.5).
// 2. Real daemons: `models publish` on alice (add to kubo + register + provider record + capability)
//    and `models pull` by CID on bob (direct transfer with sha256 + CID checked on the way, add to
//    his kubo, pin, provider record).
// Figures are printed, not asserted. Run it when the machine is otherwise idle: it is I/O- and CPU-bound.
import { createHash } from "node:crypto";
import { closeSync, createReadStream, createWriteStream, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { open } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { DirectConnection } from "../src/artifacts/direct-transfer-client.ts";
import { pino } from "pino";
import { binDir, modelsDir } from "../src/config/paths.mjs";
import { LocalApiClient } from "../src/api/api-client.ts";
import { BlockPull } from "../src/artifacts/block-pull.ts";
import { IpfsStore } from "../src/artifacts/ipfs-store.ts";
import { KuboNode } from "../src/artifacts/kubo-supervisor.ts";
import { defaultStoragePolicyFile, loadStoragePolicy, modelChunking } from "../src/config/storage-policy.ts";
import { RippleDaemon } from "../test/support/ripple-process.ts";
import { seesOnline, statusOf } from "../test/support/mesh-views.ts";
import { waitFor } from "../test/support/wait-for.ts";

const QWEN = "qwen2.5-coder-0.5b-instruct-q4_k_m";
const file = join(modelsDir(), `${QWEN}.gguf`);
const bytes = statSync(file).size;
const MB = 1e6;
const runs = Number(process.env.BENCH_RUNS ?? 3);
const log = pino({ level: "warn" });
const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join("/tmp", p));
  dirs.push(d);
  return d;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function localCopy(): Promise<number> {
  const out = join(tmp("rm-bench-copy-"), "copy.gguf");
  const t0 = performance.now();
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), createWriteStream(out));
  const fd = openSync(out, "r+");
  fsyncSync(fd);
  closeSync(fd);
  const ms = performance.now() - t0;
  rmSync(out);
  return ms;
}

interface PairFigures {
  addMs: number;
  /** Receiver reading its own blockstore (`cat` offline). */
  catMs: number[];
  /** Today's path: `cat` through the RPC, streamed to a file (+ sha256, fsync). */
  catToFileMs: number[];
  /** The new path (block-pull.ts): blocks in parallel, written in place, sha256 + CID checked on the way. */
  blocks1Ms: number[];
  blocks2Ms: number[];
  /** The same with kubo fetching the whole DAG in one session beside the reads (`pin add`). */
  pinned1Ms: number[];
  pinned2Ms: number[];
  /** Straight from the providers' files (TLS), leaves checked against their CIDs, sha256 on the way. */
  direct1Ms: number[];
  direct2Ms: number[];
  /**
   * A local copy made just before each run's pair of direct pulls (1 provider, then 2): the disk's
   * speed drifts over a run (here 1,000+ MB/s at first, ~250 MB/s once a few GB were written and
   * fsynced), so the direct pulls are also compared with a copy under nearly the same conditions.
   */
  copyBesideMs: number[];
}

/** A direct transfer provider process serving `file`, and how to connect to it. */
async function directProvider(): Promise<{ child: ChildProcess; open: () => Promise<DirectConnection> }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "direct-provider.ts"), file], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once("line", resolve));
  const t = JSON.parse(line) as { port: number; identity: string; key: string };
  const endpoint = { host: "127.0.0.1", port: t.port, identity: t.identity, key: Buffer.from(t.key, "base64") };
  return { child, open: () => DirectConnection.open(endpoint, { timeoutMs: 10_000, stallMs: 60_000 }) };
}

async function kuboPair(): Promise<PairFigures> {
  const policy = loadStoragePolicy(defaultStoragePolicyFile);
  const start = async () => {
    const d = tmp("rm-bench-kubo-");
    const kubo = await KuboNode.start({ ipfsBinary: join(binDir(), "ipfs"), repoDir: join(d, "ipfs"), logFile: join(d, "kubo.log"), privateSwarmSeed: "bench", swarmPort: 0, swarmBind: "loopback", log });
    return { kubo, ipfs: new IpfsStore({ apiUrl: () => kubo.endpoints.apiUrl, timeoutMs: 60_000 }), dir: d };
  };
  // Two providers holding the same blocks.
  const [a, a2] = await Promise.all([start(), start()]);
  const t0 = performance.now();
  const cid = await a.ipfs.addFile(file, modelChunking(policy));
  const addMs = performance.now() - t0;
  await a2.ipfs.addFile(file, modelChunking(policy));
  const f: PairFigures = { addMs, catMs: [], catToFileMs: [], blocks1Ms: [], blocks2Ms: [], pinned1Ms: [], pinned2Ms: [], direct1Ms: [], direct2Ms: [], copyBesideMs: [] };
  const direct = await Promise.all([directProvider(), directProvider()]);
  const receiver = async (providers: Array<typeof a>, fn: (b: Awaited<ReturnType<typeof start>>, out: string) => Promise<void>): Promise<number> => {
    const b = await start(); // a fresh receiver each run: nothing cached
    try {
      for (const p of providers) await b.ipfs.peer((await p.ipfs.id()).addrs[0]!);
      const out = join(b.dir, "pulled.gguf");
      const t1 = performance.now();
      await fn(b, out);
      const ms = performance.now() - t1;
      if (statSync(out).size !== bytes) throw new Error(`wrote ${statSync(out).size} of ${bytes} bytes`);
      rmSync(out);
      return ms;
    } finally {
      await b.kubo.stop();
    }
  };
  const viaBlocks = (prefetch: boolean, sources = 0) => async (b: Awaited<ReturnType<typeof start>>, out: string) => {
    const fh = await open(out, "w");
    try {
      const pull = new BlockPull({
        ipfs: b.ipfs,
        cid,
        maxBytes: bytes,
        file: fh,
        blockTimeoutMs: 60_000,
        ...(prefetch ? { prefetch: (signal?: AbortSignal) => b.ipfs.pin(cid, signal ? { signal } : {}) } : {}),
        ...(sources ? { direct: direct.slice(0, sources).map((d, i) => ({ name: `p${i}`, open: d.open })), onDirectFailure: (name: string, err: Error) => console.error(`direct source ${name} failed: ${err.message}`) } : {}),
      });
      await pull.run();
      if (pull.result()?.sha256 !== sha) throw new Error("sha256 mismatch");
      if (sources && pull.directBytes !== bytes) throw new Error(`only ${pull.directBytes} of ${bytes} bytes came directly`);
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  const sha = createHash("sha256").update(readFileSync(file)).digest("hex");
  try {
    for (let i = 0; i < runs; i++) {
      f.catToFileMs.push(
        await receiver([a], async (b, out) => {
          const fd = openSync(out, "w");
          const hash = createHash("sha256");
          for await (const chunk of b.ipfs.cat(cid, { timeoutMs: 60_000 })) {
            hash.update(chunk);
            writeFileSync(fd, chunk);
          }
          fsyncSync(fd);
          closeSync(fd);
          if (hash.digest("hex") !== sha) throw new Error("sha256 mismatch");
          // Second read from the receiver's own blockstore: what kubo's read path alone costs.
          const t2 = performance.now();
          for await (const _ of b.ipfs.cat(cid, { timeoutMs: 60_000, offline: true })) void _;
          f.catMs.push(performance.now() - t2);
        }),
      );
      f.blocks1Ms.push(await receiver([a], viaBlocks(false)));
      f.blocks2Ms.push(await receiver([a, a2], viaBlocks(false)));
      f.pinned1Ms.push(await receiver([a], viaBlocks(true)));
      f.pinned2Ms.push(await receiver([a, a2], viaBlocks(true)));
      f.copyBesideMs.push(await localCopy());
      f.direct1Ms.push(await receiver([a], viaBlocks(false, 1)));
      f.direct2Ms.push(await receiver([a, a2], viaBlocks(false, 2)));
    }
  } finally {
    for (const d of direct) d.child.kill("SIGTERM");
    await Promise.all([a.kubo.stop(), a2.kubo.stop()]);
  }
  return f;
}

async function daemons(): Promise<{ addMs: number; announceMs: number; publishMs: number; transferMs: number; verifyMs: number; pullMs: number; directBytes: number }> {
  const policyDir = tmp("rm-bench-policy-");
  const policyFile = join(policyDir, "storage_policy.yaml");
  writeFileSync(policyFile, readFileSync(defaultStoragePolicyFile, "utf8").replace("swarm_bind: lan", "swarm_bind: loopback"));
  const alice = RippleDaemon.up("alice", tmp("rm-bench-alice-"), ["--no-measure", "--storage-policy", policyFile]);
  const bob = RippleDaemon.up("bob", tmp("rm-bench-bob-"), ["--no-measure", "--storage-policy", policyFile], { env: { RIPPLE_MODELS_DIR: tmp("rm-bench-bob-models-") } });
  try {
    await Promise.all([alice.waitUntilRunning(), bob.waitUntilRunning()]);
    const sa = await statusOf(alice);
    await waitFor("bob sees alice", async () => ((await seesOnline(bob, [sa.agentPubKey!])) ? true : undefined), { timeoutMs: 180_000 });
    const a = await LocalApiClient.forDataDir(alice.dataDir, { timeoutMs: 30_000 });
    const b = await LocalApiClient.forDataDir(bob.dataDir, { timeoutMs: 30_000 });
    const t0 = performance.now();
    const pub = await a.publishModel(QWEN);
    const publishMs = performance.now() - t0;
    await waitFor("bob sees the model and its provider", async () => ((await b.shards({})).find((r) => r.cid === pub.cid && r.replicas >= 1) ? true : undefined), { timeoutMs: 120_000 });
    const t1 = performance.now();
    const pulled = await b.pullModel({ ref: pub.cid });
    const pullMs = performance.now() - t1;
    return { addMs: pub.addMs, announceMs: pub.announceMs, publishMs, transferMs: pulled.transferMs, verifyMs: pulled.verifyMs, pullMs, directBytes: pulled.directBytes };
  } finally {
    await Promise.all([alice.kill("SIGTERM"), bob.kill("SIGTERM")]);
  }
}

try {
  console.log(`artifacts bench: ${QWEN} (${(bytes / MB).toFixed(1)} MB), ${runs} runs, netns ${process.env.RIPPLE_NETNS ?? "none"}`);
  const copies: number[] = [];
  for (let i = 0; i < runs; i++) copies.push(await localCopy());
  const pair = await kuboPair();
  const d = process.env.BENCH_SKIP_DAEMONS === "1" ? null : await daemons();
  const mbps = (ms: number) => bytes / MB / (ms / 1000);
  const copy = mbps(median(copies));
  const peer = mbps(median(pair.catToFileMs));
  const rows: Array<[string, string]> = [
    ["local file copy (read + write + fsync), median", `${copy.toFixed(0)} MB/s (${median(copies).toFixed(0)} ms)`],
    ["through kubo by `cat`, to a file (+ sha256, fsync), median", `${peer.toFixed(0)} MB/s (${median(pair.catToFileMs).toFixed(0)} ms)`],
    ["through kubo, 1 provider: parallel blocks + `pin add` session, in place (+ sha256, CID, fsync)", `${mbps(median(pair.pinned1Ms)).toFixed(0)} MB/s (${median(pair.pinned1Ms).toFixed(0)} ms)`],
    ["through kubo, 2 providers", `${mbps(median(pair.pinned2Ms)).toFixed(0)} MB/s (${median(pair.pinned2Ms).toFixed(0)} ms)`],
    ["  without the `pin add` session (per-block reads only): 1 | 2 providers", `${mbps(median(pair.blocks1Ms)).toFixed(0)} | ${mbps(median(pair.blocks2Ms)).toFixed(0)} MB/s`],
    ["direct (the daemon's default), 1 provider process: TLS ranges, in place (+ sha256, CID, fsync)", `${mbps(median(pair.direct1Ms)).toFixed(0)} MB/s (${median(pair.direct1Ms).toFixed(0)} ms)`],
    ["direct, 2 provider processes", `${mbps(median(pair.direct2Ms)).toFixed(0)} MB/s (${median(pair.direct2Ms).toFixed(0)} ms)`],
    [
      "  peer fetch ÷ local copy (target ≥ 0.5): cat | kubo blocks 1 | 2 providers | direct 1 | 2 providers",
      [peer, mbps(median(pair.pinned1Ms)), mbps(median(pair.pinned2Ms)), mbps(median(pair.direct1Ms)), mbps(median(pair.direct2Ms))].map((x) => (x / copy).toFixed(2)).join(" | "),
    ],
    [
      "  the same, each direct run ÷ the local copy made just before that run's pair of direct pulls (same disk state): direct 1 | 2 providers",
      `${median(pair.copyBesideMs.map((c, i) => c / pair.direct1Ms[i]!)).toFixed(2)} | ${median(pair.copyBesideMs.map((c, i) => c / pair.direct2Ms[i]!)).toFixed(2)} (copies beside them: ${pair.copyBesideMs.map((c) => mbps(c).toFixed(0)).join(", ")} MB/s)`,
    ],
    ["kubo read from its own blockstore, median", `${mbps(median(pair.catMs)).toFixed(0)} MB/s`],
    ["ipfs add (1 MiB chunks, raw leaves), bare kubo", `${(pair.addMs / 1000).toFixed(1)} s (${mbps(pair.addMs).toFixed(0)} MB/s)`],
  ];
  if (d) {
    rows.push(
      ["`models publish` on a daemon: add to kubo", `${(d.addMs / 1000).toFixed(1)} s`],
      ["  announce (artifact + provider record + capability)", `${(d.announceMs / 1000).toFixed(2)} s`],
      ["  whole request", `${(d.publishMs / 1000).toFixed(1)} s`],
      ["`models pull` by CID on a peer (1 provider): transfer (+ sha256 + CID)", `${(d.transferMs / 1000).toFixed(1)} s (${mbps(d.transferMs).toFixed(0)} MB/s; ÷ local copy ${(mbps(d.transferMs) / copy).toFixed(2)}; ${((100 * d.directBytes) / bytes).toFixed(0)}% direct)`],
      ["  verify after the transfer (sha256 + CID are checked during it)", `${(d.verifyMs / 1000).toFixed(1)} s`],
      ["  whole request (providers proved, tickets, add to kubo, pin, announce)", `${(d.pullMs / 1000).toFixed(1)} s`],
    );
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n"));
} finally {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
