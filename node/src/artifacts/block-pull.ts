// A file pulled block by block from its root CID into a destination file: the leaves are asked of
// this node's kubo many at a time (`block/get`; kubo's bitswap spreads the wants over every
// connected peer that holds them, so several providers serve one pull, and a provider that dies
// only loses its share), each block is checked against its own CID before its bytes are written at
// their offset, and the sha256 of the whole file is computed over the leaves in file order as they
// complete (no second pass). A failed run keeps what it fetched: `run()` again resumes with the
// missing blocks only (after a kubo restart, a lost provider, an idle timeout).
import { createHash, type Hash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { ArtifactVerificationError } from "./artifact-service.ts";
import type { IpfsStore } from "./ipfs-store.ts";
import { blockCodec, decodeUnixfsNode, verifyBlock } from "./unixfs-blocks.ts";

const MAX_DEPTH = 32;

interface Leaf {
  cid: string;
  offset: number;
  size: number;
  /** The bytes of the leaf when its node was fetched while planning (inline data). */
  inline?: Uint8Array;
}

export interface BlockPullOptions {
  ipfs: IpfsStore;
  cid: string;
  /** The registered size: content declaring more is refused before it is fetched. */
  maxBytes: number;
  /** Where the file is written (opened by the caller, positional writes only). */
  file: FileHandle;
  /** Blocks asked of kubo at once (default 24). */
  concurrency?: number;
  /** How far past the first unhashed leaf fetching may run, in leaves (bounds memory; default 96). */
  window?: number;
  /** Time limit of one block (the policy's stall timeout). */
  blockTimeoutMs: number;
  /**
   * Started beside the block reads, e.g. kubo fetching the whole DAG in one bitswap session (`pin add`):
   * the reads then mostly find their block already local. Its failure is ignored (the reads decide).
   */
  prefetch?: (signal?: AbortSignal) => Promise<unknown>;
  /** Bytes written so far (after each block). */
  onBytes?: (written: number, delta: number) => void;
}

export class BlockPull {
  private leaves: Leaf[] | null = null;
  private readonly done: boolean[] = [];
  private readonly pending = new Map<number, Uint8Array>();
  private nextToHash = 0;
  private readonly hash: Hash = createHash("sha256");
  private hashed = 0;
  /** Bytes written to the file so far. */
  written = 0;
  /** The file size the DAG declares (known once planned). */
  declaredSize = 0;

  constructor(private readonly opts: BlockPullOptions) {}

  /** Fetch every missing block (resumable: call again after a failure). */
  async run(signal?: AbortSignal): Promise<void> {
    if (!this.leaves) this.leaves = await this.plan(signal);
    const leaves = this.leaves;
    const concurrency = this.opts.concurrency ?? 24;
    const window = Math.max(this.opts.window ?? 96, concurrency);
    let next = this.nextToHash;
    let failure: unknown = null;
    const wake: Array<() => void> = [];
    const notify = () => wake.splice(0).forEach((w) => w());
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
    const prefetch = this.opts.prefetch?.(signal ? AbortSignal.any([signal, stopPrefetch.signal]) : stopPrefetch.signal).catch(() => undefined);
    await Promise.all(Array.from({ length: Math.min(concurrency, leaves.length || 1) }, worker));
    if (failure !== null) stopPrefetch.abort();
    await prefetch;
    if (failure !== null) throw failure;
  }

  /** The file's bytes and sha256 once every block is in (null while some are missing). */
  result(): { bytes: number; sha256: string } | null {
    if (!this.leaves || this.nextToHash < this.leaves.length) return null;
    return { bytes: this.hashed, sha256: this.hash.digest("hex") };
  }

  private async fetchLeaf(i: number, signal?: AbortSignal): Promise<void> {
    const leaf = this.leaves![i]!;
    let bytes = leaf.inline;
    if (!bytes) {
      const block = await this.opts.ipfs.blockGet(leaf.cid, { timeoutMs: this.opts.blockTimeoutMs, ...(signal ? { signal } : {}) });
      verifyBlock(leaf.cid, block);
      bytes = blockCodec(leaf.cid) === "raw" ? block : this.leafData(leaf.cid, block);
    }
    if (bytes.length !== leaf.size) {
      throw new ArtifactVerificationError(`block ${leaf.cid} holds ${bytes.length} bytes where its parent declares ${leaf.size}`, "nothing was pinned or registered; report the peer that published it");
    }
    if (bytes.length) await this.opts.file.write(bytes, 0, bytes.length, leaf.offset);
    this.written += bytes.length;
    this.opts.onBytes?.(this.written, bytes.length);
    this.pending.set(i, bytes);
    for (let b = this.pending.get(this.nextToHash); b; b = this.pending.get(this.nextToHash)) {
      this.hash.update(b);
      this.hashed += b.length;
      this.pending.delete(this.nextToHash++);
    }
  }

  private leafData(cid: string, block: Uint8Array): Uint8Array {
    const node = decodeUnixfsNode(cid, block);
    if (node.links.length) throw new ArtifactVerificationError(`block ${cid} was declared a leaf but links further`, "nothing was pinned or registered; report the peer that published it");
    return node.data;
  }

  /** Walk the DAG's inner nodes (each verified) down to the leaves, with each leaf's file offset. */
  private async plan(signal?: AbortSignal): Promise<Leaf[]> {
    const { ipfs, cid: root, maxBytes } = this.opts;
    const get = async (cid: string) => {
      const block = await ipfs.blockGet(cid, { timeoutMs: this.opts.blockTimeoutMs, ...(signal ? { signal } : {}) });
      verifyBlock(cid, block);
      return block;
    };
    const tooBig = (n: number) =>
      new ArtifactVerificationError(`${root} is longer than the ${maxBytes} bytes registered for it (its DAG declares at least ${n})`, "do not trust that registration");
    const walk = async (cid: string, offset: number, size: number | null, depth: number): Promise<Leaf[]> => {
      if (depth > MAX_DEPTH) throw new ArtifactVerificationError(`${root} is nested deeper than ${MAX_DEPTH} levels`, "do not trust that registration");
      if (blockCodec(cid) === "raw") {
        if (size !== null) return [{ cid, offset, size }];
        const block = await get(cid); // a whole file in one raw block
        if (block.length > maxBytes) throw tooBig(block.length);
        return [{ cid, offset, size: block.length, inline: block }];
      }
      const node = decodeUnixfsNode(cid, await get(cid));
      const own = node.data.length;
      const total = own + node.links.reduce((s, l) => s + l.size, 0);
      if (size !== null && total !== size) throw new ArtifactVerificationError(`block ${cid} covers ${total} bytes where its parent declares ${size}`, "nothing was pinned or registered; report the peer that published it");
      if (offset + total > maxBytes) throw tooBig(offset + total);
      // A leaf's data is read again when its turn comes (only the root's is kept: memory stays flat).
      const out: Leaf[] = own ? [{ cid, offset, size: own, ...(depth === 0 || node.links.length ? { inline: node.data } : {}) }] : [];
      let at = offset + own;
      const children = node.links.map((l) => {
        const start = at;
        at += l.size;
        return { ...l, start };
      });
      // Raw leaves are only listed here; dag-pb children are read (inner nodes, or leaves without raw-leaves).
      for (const c of children) {
        if (blockCodec(c.cid) === "raw") out.push({ cid: c.cid, offset: c.start, size: c.size });
        else out.push(...(await walk(c.cid, c.start, c.size, depth + 1)));
      }
      return out;
    };
    const leaves = await walk(root, 0, null, 0);
    this.declaredSize = leaves.reduce((s, l) => s + l.size, 0);
    return leaves;
  }
}
