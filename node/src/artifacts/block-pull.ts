// A file pulled block by block from its root CID into a destination file: the leaves are asked of
// this node's kubo many at a time (`block/get`; kubo's bitswap spreads the wants over every
// connected peer that holds them, so several providers serve one pull, and a provider that dies
// only loses its share), each block is checked against its own CID before its bytes are written at
// their offset, and the sha256 of the whole file is computed over the leaves in file order as they
// complete (no second pass). A failed run keeps what it fetched: `run()` again resumes with the
// missing blocks only (after a kubo restart, a lost provider, an idle timeout).
//
// Direct sources (direct-transfer-*.ts) go first when given: runs of raw leaves are read as byte
// ranges straight from providers' files over TLS, several connections per provider, each leaf
// checked against its CID as its last byte lands. A source that fails or sends a leaf that does not
// hash to its CID is dropped for the rest of the pull (its unfinished leaves go back to the queue);
// what no direct source delivered is then fetched through kubo as above.
import { createHash, type Hash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { ArtifactVerificationError } from "./artifact-service.ts";
import type { DirectConnection } from "./direct-transfer-client.ts";
import { sha256DigestOf } from "./provider-check.ts";
import { planLeaves, type Leaf, type PlanOptions } from "./block-pull-plan.ts";
import { blockCodec, decodeUnixfsNode, verifyBlock } from "./unixfs-blocks.ts";
import { linkSignals } from "../linked-signal.ts";

export interface BlockPullOptions extends PlanOptions {
  /** Where the file is written (opened by the caller, positional writes only). */
  file: FileHandle;
  /** Blocks asked of kubo at once (default 24). */
  concurrency?: number;
  /** How far past the first unhashed leaf fetching may run, in leaves (bounds memory; default 96). */
  window?: number;
  /**
   * Started beside the block reads, e.g. kubo fetching the whole DAG in one bitswap session (`pin add`):
   * the reads then mostly find their block already local. Its failure is ignored (the reads decide).
   */
  prefetch?: (signal?: AbortSignal) => Promise<unknown>;
  /** Bytes written so far (after each block). */
  onBytes?: (written: number, delta: number) => void;
  /** Providers to read ranges from directly, before kubo. */
  direct?: DirectSource[];
  /** Connections per direct source (default 2). */
  directConnections?: number;
  /** Leaves asked in one range (default 8). */
  directBatchLeaves?: number;
  /** A direct source was dropped (it failed or sent bad bytes); the pull goes on without it. */
  onDirectFailure?: (source: string, err: Error) => void;
}

export interface DirectSource {
  /** Who it is, for logs and errors. */
  name: string;
  open(signal?: AbortSignal): Promise<DirectConnection>;
}

/** A direct source sent bytes that do not hash to the leaf's CID. */
export class DirectLeafMismatchError extends Error {
  override name = "DirectLeafMismatchError";
}

export class BlockPull {
  private leaves: Leaf[] | null = null;
  /** Claimed by a worker or landed; cleared again when a worker fails with it. */
  private readonly done: boolean[] = [];
  private readonly pending = new Map<number, Uint8Array[]>();
  private readonly failedSources = new Set<string>();
  private readonly wake: Array<() => void> = [];
  private nextToHash = 0;
  private readonly hash: Hash = createHash("sha256");
  private hashed = 0;
  /** Bytes written to the file so far. */
  written = 0;
  /** The file size the DAG declares (known once planned). */
  declaredSize = 0;
  /** Bytes that came from direct sources (not through kubo: kubo does not hold those blocks). */
  directBytes = 0;
  /** Time spent walking the DAG's inner nodes before the first leaf was asked for. */
  planMs = 0;

  constructor(private readonly opts: BlockPullOptions) {}

  /** Fetch every missing block (resumable: call again after a failure). */
  async run(signal?: AbortSignal): Promise<void> {
    if (!this.leaves) {
      const t0 = performance.now();
      this.leaves = await planLeaves(this.opts, signal);
      this.declaredSize = this.leaves.reduce((sum, l) => sum + l.size, 0);
      this.planMs = Math.round(performance.now() - t0);
    }
    const leaves = this.leaves;
    await this.runDirect(signal);
    if (this.nextToHash >= leaves.length) return;
    const concurrency = this.opts.concurrency ?? 24;
    const window = this.window();
    let next = this.nextToHash;
    let failure: unknown = null;
    const wake = this.wake;
    const notify = () => this.notify();
    const worker = async (): Promise<void> => {
      while (failure === null) {
        while (next < leaves.length && this.done[next]) next++;
        if (next >= leaves.length) return;
        if (next >= this.nextToHash + window) {
          await new Promise<void>((r) => wake.push(r));
          continue;
        }
        const i = next++;
        this.done[i] = true; // claimed; cleared again if it fails
        try {
          await this.fetchLeaf(i, signal);
        } catch (err) {
          this.done[i] = false;
          failure ??= err;
        }
        notify();
      }
    };
    const stopPrefetch = new AbortController();
    // kubo's whole-DAG session would fetch again what direct sources already wrote.
    const prefetchSignal = linkSignals(signal, stopPrefetch.signal);
    const prefetch = (this.directBytes ? undefined : this.opts.prefetch)?.(prefetchSignal.signal).catch(() => undefined);
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, leaves.length || 1) }, worker));
      if (failure !== null) stopPrefetch.abort();
      await prefetch;
    } finally {
      prefetchSignal.dispose();
    }
    if (failure !== null) throw failure;
  }

  /** The file's bytes and sha256 once every block is in (null while some are missing). */
  result(): { bytes: number; sha256: string } | null {
    if (!this.leaves || this.nextToHash < this.leaves.length) return null;
    return { bytes: this.hashed, sha256: this.hash.digest("hex") };
  }

  private window(): number {
    return Math.max(this.opts.window ?? 96, this.opts.concurrency ?? 24);
  }

  private notify(): void {
    this.wake.splice(0).forEach((w) => w());
  }

  private async fetchLeaf(i: number, signal?: AbortSignal): Promise<void> {
    const leaf = this.leaves![i]!;
    let bytes = leaf.inline;
    if (!bytes) {
      const block = await this.opts.ipfs.blockGet(leaf.cid, { timeoutMs: this.opts.blockTimeoutMs, ...(signal ? { signal } : {}) });
      verifyBlock(leaf.cid, block);
      bytes = blockCodec(leaf.cid) === "raw" ? block : this.leafData(leaf.cid, block);
    }
    await this.accept(i, [bytes]);
  }

  /** A verified leaf: written at its offset, then hashed into the file's sha256 once all before it are. False if it had landed already. */
  private async accept(i: number, parts: Uint8Array[]): Promise<boolean> {
    const leaf = this.leaves![i]!;
    const size = parts.reduce((n, p) => n + p.length, 0);
    if (size !== leaf.size) {
      throw new ArtifactVerificationError(`block ${leaf.cid} holds ${size} bytes where its parent declares ${leaf.size}`, "nothing was pinned or registered; report the peer that published it");
    }
    if (size) await (parts.length === 1 ? this.opts.file.write(parts[0]!, 0, size, leaf.offset) : this.opts.file.writev(parts, leaf.offset));
    if (this.landedBefore(i)) return false; // landed meanwhile from another source: same bytes, counted once
    this.written += size;
    this.opts.onBytes?.(this.written, size);
    this.pending.set(i, parts);
    for (let b = this.pending.get(this.nextToHash); b; b = this.pending.get(this.nextToHash)) {
      for (const p of b) {
        this.hash.update(p);
        this.hashed += p.length;
      }
      this.pending.delete(this.nextToHash++);
    }
    return true;
  }

  /** Raw leaves not yet landed, in runs of consecutive leaves (one range request each). */
  private directBatches(): number[][] {
    const leaves = this.leaves!;
    const most = this.opts.directBatchLeaves ?? 8;
    const batches: number[][] = [];
    let run: number[] = [];
    for (let i = this.nextToHash; i < leaves.length; i++) {
      const l = leaves[i]!;
      const fits = !this.done[i] && !l.inline && l.size > 0 && blockCodec(l.cid) === "raw";
      const prev = run.length ? leaves[run[run.length - 1]!]! : null;
      if (run.length && (!fits || run.length >= most || prev!.offset + prev!.size !== l.offset)) {
        batches.push(run);
        run = [];
      }
      if (fits) run.push(i);
    }
    if (run.length) batches.push(run);
    return batches;
  }

  private async runDirect(signal?: AbortSignal): Promise<void> {
    const sources = (this.opts.direct ?? []).filter((s) => !this.failedSources.has(s.name));
    if (!sources.length) return;
    // Bytes the plan already holds (a node's own data) land first: they would stop the hash front.
    for (const [i, leaf] of this.leaves!.entries()) {
      if (leaf.inline && !this.done[i]) {
        this.done[i] = true;
        await this.accept(i, [leaf.inline]);
      }
    }
    const queue = this.directBatches();
    const window = this.window();
    let reading = 0;
    const worker = async (source: DirectSource): Promise<void> => {
      let conn: DirectConnection | undefined;
      let batch: number[] | undefined;
      try {
        while (queue.length && !this.failedSources.has(source.name)) {
          if (queue[0]![0]! >= this.nextToHash + window) {
            // Nothing being read can move the hash front: the leaf holding it is kubo's (not raw).
            if (reading === 0) return;
            await new Promise<void>((r) => this.wake.push(r));
            continue;
          }
          batch = queue.shift()!;
          for (const i of batch) this.done[i] = true;
          reading++;
          try {
            conn ??= await source.open(signal);
            await this.readBatch(conn, batch, signal);
          } finally {
            reading--;
          }
          batch = undefined;
          this.notify();
        }
      } catch (err) {
        this.failedSources.add(source.name);
        if (batch) {
          // What did not land goes back: the queue is planned again from what is neither landed nor being read.
          for (const i of batch) if (!this.landedBefore(i)) this.done[i] = false;
          queue.splice(0, queue.length, ...this.directBatches());
        }
        this.opts.onDirectFailure?.(source.name, err as Error);
      } finally {
        conn?.close();
        this.notify(); // a worker that waits re-checks whether anything is still being read
      }
    };
    const perSource = this.opts.directConnections ?? 2;
    await Promise.all(sources.flatMap((s) => Array.from({ length: perSource }, () => worker(s))));
  }

  /** Whether leaf i has been written (it is hashed, or waits in order to be). */
  private landedBefore(i: number): boolean {
    return i < this.nextToHash || this.pending.has(i);
  }

  /**
   * One range covering consecutive leaves; each leaf is checked against its CID when complete (on
   * this thread: handing 1 MiB leaves to WebCrypto's pool measured slower here, the copies cost more
   * than the hashing it moved). A failed range settles the leaves already landing before it throws,
   * so the caller knows exactly which landed.
   */
  private async readBatch(conn: DirectConnection, batch: number[], signal?: AbortSignal): Promise<void> {
    const leaves = this.leaves!;
    const first = leaves[batch[0]!]!;
    const last = leaves[batch[batch.length - 1]!]!;
    const landing: Array<Promise<void>> = [];
    let k = 0;
    let parts: Buffer[] = [];
    let have = 0;
    let h = createHash("sha256");
    try {
      await conn.read(
        first.offset,
        last.offset + last.size - first.offset,
        (chunk) => {
          const landed = landing.length;
          for (let at = 0; at < chunk.length; ) {
            const i = batch[k]!;
            const leaf = leaves[i]!;
            const n = Math.min(leaf.size - have, chunk.length - at);
            const piece = at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n);
            parts.push(piece);
            h.update(piece);
            have += n;
            at += n;
            if (have === leaf.size) {
              const want = sha256DigestOf(leaf.cid);
              if (!want || !want.equals(h.digest())) throw new DirectLeafMismatchError(`the bytes sent for block ${leaf.cid} (file offset ${leaf.offset}) do not hash to its CID`);
              landing.push(
                this.accept(i, parts).then((fresh) => {
                  if (fresh) this.directBytes += leaf.size;
                }),
              );
              k++;
              parts = [];
              have = 0;
              h = createHash("sha256");
            }
          }
          // The socket pauses until the leaves this chunk completed are written.
          return landing.length > landed ? Promise.all(landing.slice(landed)).then(() => undefined) : undefined;
        },
        signal,
      );
    } finally {
      await Promise.allSettled(landing);
    }
  }

  private leafData(cid: string, block: Uint8Array): Uint8Array {
    const node = decodeUnixfsNode(cid, block);
    if (node.links.length) throw new ArtifactVerificationError(`block ${cid} was declared a leaf but links further`, "nothing was pinned or registered; report the peer that published it");
    return node.data;
  }
}
