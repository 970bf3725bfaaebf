// Fast tests of the artifacts seam's pure parts: the storage policy loader (errors name file and
// key), LRU cache eviction, the chunking recorded in a model artifact's mime, block ↔ CID checks,
// the kubo config the daemon writes, the `ripple shards` table, and which failed registrations are
// remembered.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ArtifactVerificationError, BlockHashMismatchError } from "../src/artifacts/artifact-service.ts";
import { lruEvictions } from "../src/artifacts/cache-ledger.ts";
import { FailedRegistrations } from "../src/artifacts/failed-registrations.ts";
import { PULL_PROGRESS_EVERY_MS, pullProgress, type ModelPullEvent } from "../src/artifacts/model-pull-events.ts";
import { meshKuboConfig, multiaddrToHttpUrl } from "../src/artifacts/kubo-supervisor.ts";
import { chunkBytesOf, chunkingFromMime, looksLikeCid, modelMime } from "../src/artifacts/model-mime.ts";
import { blockMatchesCid } from "../src/artifacts/provider-check.ts";
import { formatShards } from "../src/artifacts/shards-format.ts";
import { decodeUnixfsNode, verifyBlock } from "../src/artifacts/unixfs-blocks.ts";
import { defaultStoragePolicyFile, loadStoragePolicy, modelChunking, StoragePolicyError, storagePolicyFileFor, wantedModels } from "../src/config/storage-policy.ts";
import { CID, type IpfsStore } from "../src/artifacts/ipfs-store.ts";
import { BlockPull } from "../src/artifacts/block-pull.ts";
import { MAX_LEAVES } from "../src/artifacts/block-pull-plan.ts";
import { open } from "node:fs/promises";
import { cidOf, DAG_PB, field, pbNode, RAW, unixfsFile } from "./support/unixfs-fixtures.ts";

const dir = mkdtempSync("/tmp/rm-artifacts-units-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function policyWith(edit: (text: string) => string): string {
  const file = join(dir, `p-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, edit(readFileSync(defaultStoragePolicyFile, "utf8")));
  return file;
}

describe("storage policy", () => {
  it("loads the shipped manifest", () => {
    const p = loadStoragePolicy();
    expect(p.replication.min_providers).toBeGreaterThanOrEqual(1);
    expect(p.cache.eviction).toBe("lru");
    expect(modelChunking(p)).toEqual({ chunker: "size-1048576", rawLeaves: true, cidVersion: 1 });
  });

  it("names the file and the key of an unknown or bad key", () => {
    const unknown = policyWith((t) => t.replace("prefer_local: true", "prefer_local: true\n  prefer_lokal: true"));
    expect(() => loadStoragePolicy(unknown)).toThrow(StoragePolicyError);
    expect(() => loadStoragePolicy(unknown)).toThrow(new RegExp(`${unknown} is not a valid storage policy: key replication.*prefer_lokal`));
    const badChunker = policyWith((t) => t.replace("chunker: size-1048576", "chunker: rabin"));
    expect(() => loadStoragePolicy(badChunker)).toThrow(/key models\.chunker: a fixed-size chunker/);
    const tooBig = policyWith((t) => t.replace("inline_output_max_bytes: 16384", "inline_output_max_bytes: 70000"));
    expect(() => loadStoragePolicy(tooBig)).toThrow(/key artifacts\.inline_output_max_bytes/);
    const notYaml = policyWith(() => "version: [1");
    expect(() => loadStoragePolicy(notYaml)).toThrow(new RegExp(`${notYaml} is not a valid storage policy`));
    expect(() => loadStoragePolicy(join(dir, "missing.yaml"))).toThrow(/missing\.yaml is not a valid storage policy: the file does not exist/);
  });

  it("wants the listed models, plus with want_experts the experts' models it has a pin for (a bare name never)", () => {
    const experts = ["qwen", "gemma", "unpinned", "qwen"];
    const pins = (name: string) => ({ qwen: "a".repeat(64), gemma: "b".repeat(64) })[name];
    const listed = loadStoragePolicy(policyWith((t) => t.replace("want: []", "want: [tiny]")));
    expect(listed.models.want_experts).toBe(false);
    expect(wantedModels(listed, experts, pins)).toEqual(["tiny"]);
    const withExperts = loadStoragePolicy(policyWith((t) => t.replace("want: []", "want: [tiny, qwen]").replace("want_experts: false", "want_experts: true")));
    expect(wantedModels(withExperts, experts, pins)).toEqual(["tiny", "qwen", "gemma"]);
    // A policy written before the key existed: off.
    const older = loadStoragePolicy(policyWith((t) => t.replace(/\n\s*want_experts: false/, "")));
    expect(older.models.want_experts).toBe(false);
  });

  it("prefers the data dir's own policy, and an explicit file over both", () => {
    expect(storagePolicyFileFor(dir)).toBe(defaultStoragePolicyFile);
    writeFileSync(join(dir, "storage_policy.yaml"), readFileSync(defaultStoragePolicyFile));
    expect(storagePolicyFileFor(dir)).toBe(join(dir, "storage_policy.yaml"));
    expect(storagePolicyFileFor(dir, "/x.yaml")).toBe("/x.yaml");
  });
});

describe("LRU cache eviction", () => {
  const e = (cid: string, bytes: number, lastAccessMs: number) => ({ cid, bytes, lastAccessMs });
  it("evicts the least recently used until the rest fit", () => {
    const entries = [e("a", 40, 3), e("b", 30, 1), e("c", 50, 2)];
    expect(lruEvictions(entries, 200)).toEqual([]);
    expect(lruEvictions(entries, 100).map((x) => x.cid)).toEqual(["b"]);
    expect(lruEvictions(entries, 45).map((x) => x.cid)).toEqual(["b", "c"]);
    expect(lruEvictions(entries, 0).map((x) => x.cid)).toEqual(["b", "c", "a"]);
  });
});

describe("model chunking recorded in the mime", () => {
  it("round-trips and refuses what cannot be reproduced", () => {
    const c = { chunker: "size-1048576", rawLeaves: true, cidVersion: 1 as const };
    expect(modelMime(c)).toBe("application/vnd.gguf; chunker=size-1048576; raw-leaves=1; cid-version=1");
    expect(chunkingFromMime(modelMime(c))).toEqual(c);
    expect(chunkingFromMime("application/vnd.gguf")).toBeNull();
    expect(chunkingFromMime("application/vnd.gguf; chunker=rabin; raw-leaves=1; cid-version=1")).toBeNull();
    expect(chunkingFromMime("text/plain; chunker=size-1; raw-leaves=1; cid-version=1")).toBeNull();
  });
});

describe("blocks and CIDs", () => {
  it("accepts exactly the bytes a raw CID names", () => {
    const bytes = Buffer.from("hello ripple");
    const digest = createHash("sha256").update(bytes).digest();
    // CIDv1, raw (0x55), sha2-256 multihash (0x12, 32 bytes)
    const cid = CID.decode(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...digest])).toString();
    expect(cid).toMatch(/^bafkrei/);
    expect(looksLikeCid(cid)).toBe(true);
    expect(looksLikeCid("qwen2.5-coder-0.5b-instruct-q4_k_m")).toBe(false);
    expect(blockMatchesCid(cid, bytes)).toBe(true);
    expect(blockMatchesCid(cid, Buffer.from("hello rippl3"))).toBe(false);
    expect(blockMatchesCid("not-a-cid", bytes)).toBe(false);
  });
});

describe("UnixFS blocks of a pulled model", () => {
  const rawCid = (bytes: Uint8Array) => cidOf(RAW, bytes);
  const fileNode = (children: Uint8Array[], blocksizes: number[]) => {
    const block = pbNode(children.map(rawCid), unixfsFile(new Uint8Array(0), blocksizes));
    return { block, cid: cidOf(DAG_PB, block).toString() };
  };

  it("lists a file node's leaves with their sizes, and checks every block against its CID", () => {
    const leaves = [randomBytes(300), randomBytes(200)];
    const { block, cid } = fileNode(leaves, [300, 200]);
    expect(() => verifyBlock(cid, block)).not.toThrow();
    const node = decodeUnixfsNode(cid, block);
    expect(node.links).toEqual([
      { cid: rawCid(leaves[0]!).toString(), size: 300 },
      { cid: rawCid(leaves[1]!).toString(), size: 200 },
    ]);
    const tampered = Uint8Array.from(block);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => verifyBlock(cid, tampered)).toThrow(/do not hash to its CID/);
    expect(() => verifyBlock(rawCid(leaves[0]!).toString(), leaves[1]!)).toThrow(/do not hash to its CID/);
  });

  it("refuses a node whose links and block sizes disagree, or that is not a file", () => {
    const bad = fileNode([randomBytes(10), randomBytes(10)], [10]);
    expect(() => decodeUnixfsNode(bad.cid, bad.block)).toThrow(/2 links but 1 block sizes/);
    expect(() => decodeUnixfsNode(bad.cid, Uint8Array.from(field(1, [0x08, 1])))).toThrow(/UnixFS type 1 is not a file/);
    expect(() => decodeUnixfsNode(bad.cid, Uint8Array.from([0x0a, 0x7f]))).toThrow(/runs past the block/);
  });
});

describe("planning a pulled model's DAG (a peer publishes it)", () => {
  const maxBytes = 50_000_000; // the pinned model's registered size, which the crafted DAG stays within
  /** A BlockPull over blocks held in memory, writing to a scratch file. */
  const pullOf = async (root: CID, blocks: Map<string, Uint8Array>) => {
    const ipfs = { blockGet: async (cid: string) => blocks.get(cid) ?? Promise.reject(new Error(`no block ${cid}`)) } as unknown as IpfsStore;
    const file = await open(join(dir, `dag-${root.toString().slice(-8)}`), "w");
    return { pull: new BlockPull({ ipfs, cid: root.toString(), maxBytes, file, blockTimeoutMs: 1000 }), file };
  };
  /** root → `fanout` links to one inner node → `fanout` links to one raw leaf of `leafBytes`. */
  const squareDag = (fanout: number, leaf: Uint8Array) => {
    const leafCid = cidOf(RAW, leaf);
    const inner = pbNode(Array(fanout).fill(leafCid), unixfsFile(new Uint8Array(0), Array(fanout).fill(leaf.length)));
    const innerCid = cidOf(DAG_PB, inner);
    const root = pbNode(Array(fanout).fill(innerCid), unixfsFile(new Uint8Array(0), Array(fanout).fill(leaf.length * fanout)));
    const rootCid = cidOf(DAG_PB, root);
    const blocks = new Map([[leafCid.toString(), leaf], [innerCid.toString(), inner], [rootCid.toString(), root]]);
    return { rootCid, blocks };
  };

  it("refuses a DAG of 16 million one-byte leaves (one inner node linked 4096 times) before listing them", async () => {
    const { rootCid, blocks } = squareDag(4096, Uint8Array.of(7));
    const { pull, file } = await pullOf(rootCid, blocks);
    const heapBefore = process.memoryUsage().heapUsed;
    try {
      await expect(pull.run()).rejects.toThrow(/splits its 50000000 bytes into more than \d+ leaves \(chunks under 1024 bytes on average\)/);
    } finally {
      await file.close();
    }
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(400 * 2 ** 20);
  });

  it("lists at most MAX_LEAVES (2^20) leaves whatever size a registration declares (2^40 bytes here; 5000 in this test)", async () => {
    expect(MAX_LEAVES).toBe(2 ** 20);
    const { rootCid, blocks } = squareDag(4096, Uint8Array.of(7));
    const ipfs = { blockGet: async (cid: string) => blocks.get(cid)! } as unknown as IpfsStore;
    const file = await open(join(dir, "dag-huge-registration"), "w");
    const heapBefore = process.memoryUsage().heapUsed;
    try {
      const pull = new BlockPull({ ipfs, cid: rootCid.toString(), maxBytes: 2 ** 40, chunkBytes: 1024, maxLeaves: 5000, file, blockTimeoutMs: 1000 });
      await expect(pull.run()).rejects.toThrow(/splits its 1099511627776 bytes into more than 5000 leaves \(the most any pull lists\)/);
    } finally {
      await file.close();
    }
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(400 * 2 ** 20);
  });

  it("refuses a DAG that links empty blocks", async () => {
    const { rootCid, blocks } = squareDag(4096, new Uint8Array(0));
    const { pull, file } = await pullOf(rootCid, blocks);
    try {
      await expect(pull.run()).rejects.toThrow(/links an empty block/);
    } finally {
      await file.close();
    }
  });

  it("takes the chunk size from a registration's mime only within what the policy allows", () => {
    const mime = (chunker: string) => `application/vnd.gguf; chunker=${chunker}; raw-leaves=1; cid-version=1`;
    expect(chunkBytesOf(mime("size-1048576"))).toEqual({ chunkBytes: 1048576 });
    expect(chunkBytesOf(mime("size-1"))).toEqual({}); // would allow a leaf per byte
    expect(chunkBytesOf(mime("size-0"))).toEqual({}); // would allow any number
    expect(chunkBytesOf(mime("size-4194304"))).toEqual({});
    expect(chunkBytesOf("text/plain")).toEqual({});
  });

  it("holds a DAG to the registration's chunk size: one leaf more than it allows is refused", async () => {
    const leaf = randomBytes(1024);
    const { rootCid, blocks } = squareDag(16, leaf); // 256 leaves of 1 KiB
    const ipfs = { blockGet: async (cid: string) => blocks.get(cid)! } as unknown as IpfsStore;
    const file = await open(join(dir, "dag-chunk"), "w");
    try {
      // Registered as 256 KiB in 2 KiB chunks: at most 129 leaves; the DAG has 256.
      const pull = new BlockPull({ ipfs, cid: rootCid.toString(), maxBytes: 256 * 1024, chunkBytes: 2048, file, blockTimeoutMs: 1000 });
      await expect(pull.run()).rejects.toThrow(/into more than 129 leaves \(chunks under 2048 bytes on average\)/);
      const exact = new BlockPull({ ipfs, cid: rootCid.toString(), maxBytes: 256 * 1024, chunkBytes: 1024, file, blockTimeoutMs: 1000 });
      await exact.run();
      expect(exact.declaredSize).toBe(256 * 1024);
    } finally {
      await file.close();
    }
  });

  it("refuses a leaf bigger than the registration's chunk size before any of its bytes are read", async () => {
    const leaf = randomBytes(4096);
    const { rootCid, blocks } = squareDag(4, leaf); // 16 leaves of 4 KiB
    const asked: string[] = [];
    const ipfs = { blockGet: async (cid: string) => (asked.push(cid), blocks.get(cid)!) } as unknown as IpfsStore;
    const file = await open(join(dir, "dag-big-leaf"), "w");
    try {
      const pull = new BlockPull({ ipfs, cid: rootCid.toString(), maxBytes: 64 * 1024, chunkBytes: 2048, file, blockTimeoutMs: 1000 });
      await expect(pull.run()).rejects.toThrow(/has a leaf of 4096 bytes \(.*\), over the 2048-byte chunk size its registration allows/);
      // Only the root and the inner node were read: the leaves are listed, never fetched.
      expect(asked).not.toContain(cidOf(RAW, leaf).toString());
    } finally {
      await file.close();
    }
  });

  it("still pulls an honest DAG of the same shape with 1 KiB leaves", async () => {
    const leaf = randomBytes(1024);
    const { rootCid, blocks } = squareDag(16, leaf);
    const { pull, file } = await pullOf(rootCid, blocks);
    try {
      await pull.run();
    } finally {
      await file.close();
    }
    expect(pull.declaredSize).toBe(16 * 16 * 1024);
    expect(readFileSync(join(dir, `dag-${rootCid.toString().slice(-8)}`)).equals(Buffer.concat(Array(256).fill(leaf)))).toBe(true);
  });
});

describe("kubo config", () => {
  it("keeps API and gateway on loopback, drops bootstrap/DHT/mDNS/telemetry, TCP only", () => {
    const c = meshKuboConfig({ Bootstrap: ["/dnsaddr/bootstrap.libp2p.io/p2p/x"], Addresses: {} }, { apiPort: 5001, gatewayPort: 8080, swarmPort: 4001, swarmBind: "lan" });
    expect(c.Addresses).toMatchObject({ API: "/ip4/127.0.0.1/tcp/5001", Gateway: "/ip4/127.0.0.1/tcp/8080", Swarm: ["/ip4/0.0.0.0/tcp/4001"] });
    expect(c.Bootstrap).toEqual([]);
    expect(c.Routing.Type).toBe("none");
    expect(c.Discovery.MDNS.Enabled).toBe(false);
    expect(c.AutoConf.Enabled).toBe(false);
    expect(c.Swarm.Transports.Network).toMatchObject({ QUIC: false, TCP: true });
    expect(c.Plugins.Plugins.telemetry.Config.Mode).toBe("off");
    expect(meshKuboConfig({}, { apiPort: 1, gatewayPort: 2, swarmPort: 3, swarmBind: "loopback" }).Addresses.Swarm).toEqual(["/ip4/127.0.0.1/tcp/3"]);
    expect(multiaddrToHttpUrl("/ip4/127.0.0.1/tcp/5001")).toBe("http://127.0.0.1:5001");
    expect(multiaddrToHttpUrl("/ip6/::1/tcp/5001")).toBe("http://[::1]:5001");
  });
});

describe("ripple shards table", () => {
  it("shows models × peers with replicas against the policy", () => {
    const p = (name: string, over: object) => ({ agent: `uhCAk${name}`, name, peerId: "p", online: true, self: false, sinceMs: 0, verified: true, reason: null, ...over });
    const out = formatShards(
      [
        { name: "qwen", cid: "bafybeigdyrztqwenqwenqwenqwen", sha256: "a".repeat(64), size: 491_400_064, publishedBy: ["x"], providers: [p("alice", { self: true }), p("bob", {}), p("mallory", { verified: false, reason: "no block" })], replicas: 2, minProviders: 2, underReplicated: false, local: true },
        { name: "tiny", cid: "bafkreitiny", sha256: "b".repeat(64), size: 522_368, publishedBy: ["x"], providers: [p("bob", {})], replicas: 1, minProviders: 2, underReplicated: true, local: false },
      ],
      true,
    );
    expect(out).toMatch(/MODEL\s+CID\s+SIZE\s+REPLICAS\s+bob\s+mallory\s+this node/);
    expect(out).toMatch(/qwen\s+bafybeigdy…enqwen\s+491\.4 MB\s+2\/2\s+✓\s+✗\s+✓/);
    expect(out).toMatch(/tiny\s+bafkreitiny\s+0\.5 MB\s+1\/2 \(under\)\s+✓\s+-\s+-/);
  });
});

describe("a pull's progress", () => {
  it("counts every byte, streams progress every 250 ms to the pull's caller, and announces it every 2 s (/v1/events, NATS)", () => {
    let t = 1000;
    const streamed: Array<{ bytes: number; mbps: number }> = [];
    const announced: ModelPullEvent[] = [];
    let counted = 0;
    const onBytes = pullProgress({
      name: "qwen",
      cid: "bafyqwen",
      size: 10_000_000,
      startedAt: 1000,
      stream: (e) => streamed.push(e),
      announce: (e) => announced.push(e),
      metrics: { modelBytesPulled: (n: number) => void (counted += n) },
      now: () => t,
    });
    // 100 chunks of 100 kB, one every 50 ms: 5 s.
    for (let i = 1; i <= 100; i++) {
      t += 50;
      onBytes(i * 100_000, 100_000);
    }
    expect(counted).toBe(10_000_000);
    expect(streamed).toHaveLength(17); // the first chunk, then one per 300 ms (the first chunk past 250 ms)
    expect(announced).toHaveLength(Math.floor(5000 / PULL_PROGRESS_EVERY_MS) + 1); // the first chunk, ~2.1 s, ~4.2 s
    expect(announced[0]).toEqual({ type: "model:pull-progress", name: "qwen", cid: "bafyqwen", bytes: 100_000, total: 10_000_000, percent: 1, mbps: 2 });
    expect(announced.at(-1)).toMatchObject({ type: "model:pull-progress", percent: expect.any(Number) });
  });
});

describe("registrations remembered as failed", () => {
  const claim = (i: number, mime = "application/vnd.gguf; chunker=size-1024; raw-leaves=1; cid-version=1") => ({ cid: `bafy${i}`, sha256: "ab".repeat(32), size: 1000 + i, mime });
  const wrong = () => new ArtifactVerificationError("gave 10 bytes with sha256 00…", "ask its publisher to publish it again");

  it("a registration whose content does not match it is remembered; a bad block from a source is not", () => {
    const failed = new FailedRegistrations();
    expect(failed.noteFailure(claim(1), new BlockHashMismatchError("block bafy… does not hash to its CID", "retry"))).toBe(false);
    expect(failed.noteFailure(claim(1), new Error("kubo stopped"))).toBe(false);
    expect(failed.has(claim(1))).toBe(false);
    expect(failed.noteFailure(claim(1), wrong())).toBe(true);
    expect(failed.has(claim(1))).toBe(true);
    // The same CID registered with another chunking (mime), size or sha256 is another claim.
    expect(failed.has(claim(1, "application/vnd.gguf; chunker=size-262144; raw-leaves=1; cid-version=1"))).toBe(false);
    expect(failed.has({ ...claim(1), size: 1 })).toBe(false);
    expect(failed.has({ ...claim(1), sha256: "cd".repeat(32) })).toBe(false);
  });

  it("keeps at most its bound, dropping the oldest first", () => {
    const failed = new FailedRegistrations(3);
    for (let i = 0; i < 5; i++) failed.noteFailure(claim(i), wrong());
    expect(failed.size).toBe(3);
    expect([0, 1, 2, 3, 4].map((i) => failed.has(claim(i)))).toEqual([false, false, true, true, true]);
    // Failing again makes it the newest.
    failed.noteFailure(claim(2), wrong());
    failed.noteFailure(claim(5), wrong());
    expect([2, 3, 4, 5].map((i) => failed.has(claim(i)))).toEqual([true, false, true, true]);
  });
});
