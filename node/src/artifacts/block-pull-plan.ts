// Planning a block pull (block-pull.ts): the DAG under a root CID walked down to its leaves, each
// inner node fetched through kubo and checked against its CID, with every leaf's file offset and
// size. What a peer's DAG may declare is bounded while it is walked (the registered size, the
// chunk size, leaves per pull, depth), so a hostile DAG is refused before its leaves are listed.
import { ArtifactVerificationError } from "./artifact-service.ts";
import type { IpfsStore } from "./ipfs-store.ts";
import { blockCodec, decodeUnixfsNode, MAX_BLOCK_BYTES, verifyBlock } from "./unixfs-blocks.ts";

const MAX_DEPTH = 32;
/**
 * The smallest chunk the storage policy allows (its chunker's lower bound), used when the registration
 * names no chunk size: a DAG whose leaves average less is not one of ours, and is refused before its
 * leaves are listed. Without it, a peer's DAG of
 * 4096 links to one inner node of 4096 one-byte leaves would list 16 million leaves (16 MB: within
 * the size registered for a model), and with empty leaves any number.
 */
const MIN_AVERAGE_LEAF_BYTES = 1024;
/**
 * Leaves listed for any one pull, whatever size its registration declares (the list costs ~100 bytes
 * a leaf: a registration of 2^40 bytes in 1 KiB chunks would list a billion). 2^20 leaves are 1 TiB
 * in the default 1 MiB chunks.
 */
export const MAX_LEAVES = 2 ** 20;

export interface Leaf {
  cid: string;
  offset: number;
  size: number;
  /** The bytes of the leaf when its node was fetched while planning (inline data). */
  inline?: Uint8Array;
}

export interface PlanOptions {
  ipfs: IpfsStore;
  cid: string;
  /** The registered size: content declaring more is refused before it is fetched. */
  maxBytes: number;
  /**
   * The registration's fixed chunk size: every leaf but the last is this long, so a DAG with more
   * than ⌈maxBytes / chunk⌉ leaves is refused while it is walked. Default MIN_AVERAGE_LEAF_BYTES.
   */
  chunkBytes?: number;
  /** Leaves listed at most, whatever the registered size (default MAX_LEAVES; tests pass fewer). */
  maxLeaves?: number;
  /** Time limit of one block (the policy's stall timeout). */
  blockTimeoutMs: number;
}

/** Walk the DAG's inner nodes (each verified) down to the leaves, with each leaf's file offset. */
export async function planLeaves(opts: PlanOptions, signal?: AbortSignal): Promise<Leaf[]> {
  const { ipfs, cid: root, maxBytes } = opts;
  const get = async (cid: string) => {
    const block = await ipfs.blockGet(cid, { timeoutMs: opts.blockTimeoutMs, ...(signal ? { signal } : {}) });
    verifyBlock(cid, block);
    return block;
  };
  const tooBig = (n: number) =>
    new ArtifactVerificationError(`${root} is longer than the ${maxBytes} bytes registered for it (its DAG declares at least ${n})`, "do not trust that registration");
  const chunk = opts.chunkBytes ?? MIN_AVERAGE_LEAF_BYTES;
  const leafCap = opts.maxLeaves ?? MAX_LEAVES;
  const maxLeaves = Math.min(Math.ceil(maxBytes / chunk) + 1, leafCap);
  // A leaf is buffered whole before its hash is checked (direct reads): none may be bigger than the
  // registration's fixed chunk size, nor than a block at all.
  const maxLeafBytes = Math.min(opts.chunkBytes ?? MAX_BLOCK_BYTES, MAX_BLOCK_BYTES);
  const leaves: Leaf[] = [];
  const add = (leaf: Leaf) => {
    if (leaves.length >= maxLeaves) {
      const why = maxLeaves === leafCap ? `the most any pull lists` : `chunks under ${chunk} bytes on average`;
      throw new ArtifactVerificationError(`${root} splits its ${maxBytes} bytes into more than ${maxLeaves} leaves (${why})`, "do not trust that registration");
    }
    if (leaf.size > maxLeafBytes) {
      throw new ArtifactVerificationError(`${root} has a leaf of ${leaf.size} bytes (${leaf.cid}), over the ${maxLeafBytes}-byte chunk size its registration allows`, "do not trust that registration");
    }
    leaves.push(leaf);
  };
  const walk = async (cid: string, offset: number, size: number | null, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new ArtifactVerificationError(`${root} is nested deeper than ${MAX_DEPTH} levels`, "do not trust that registration");
    if (blockCodec(cid) === "raw") {
      if (size !== null) return add({ cid, offset, size });
      const block = await get(cid); // a whole file in one raw block
      if (block.length > maxBytes) throw tooBig(block.length);
      return add({ cid, offset, size: block.length, inline: block });
    }
    const node = decodeUnixfsNode(cid, await get(cid));
    const own = node.data.length;
    const total = own + node.links.reduce((s, l) => s + l.size, 0);
    if (size !== null && total !== size) throw new ArtifactVerificationError(`block ${cid} covers ${total} bytes where its parent declares ${size}`, "nothing was pinned or registered; report the peer that published it");
    if (offset + total > maxBytes) throw tooBig(offset + total);
    // A leaf's data is read again when its turn comes (only the root's is kept: memory stays flat).
    if (own) add({ cid, offset, size: own, ...(depth === 0 || node.links.length ? { inline: node.data } : {}) });
    let at = offset + own;
    const children = node.links.map((l) => {
      const start = at;
      at += l.size;
      return { ...l, start };
    });
    // Raw leaves are only listed here; dag-pb children are read (inner nodes, or leaves without raw-leaves).
    for (const c of children) {
      if (c.size === 0) throw new ArtifactVerificationError(`${root} links an empty block (${c.cid})`, "do not trust that registration: no chunker makes empty chunks");
      if (blockCodec(c.cid) === "raw") add({ cid: c.cid, offset: c.start, size: c.size });
      else await walk(c.cid, c.start, c.size, depth + 1);
    }
  };
  await walk(root, 0, null, 0);
  return leaves;
}
