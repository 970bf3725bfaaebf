// One IPFS block of a UnixFS file, checked and read without trusting whoever sent it: the bytes
// must hash (sha2-256) to the block's own CID, and a dag-pb node is decoded here (a minimal reader
// of the dag-pb and UnixFS protobufs: links, inline data, blocksizes) with limits on what an
// untrusted node may declare. A file verified block by block from its root CID is verified as a
// whole: this is the CID check of a model pull, done while the blocks arrive.
import { CID, DAG_PB_CODEC, RAW_CODEC } from "./ipfs-store.ts";
import { ArtifactVerificationError, BlockHashMismatchError } from "./artifact-service.ts";
import { blockMatchesCid } from "./provider-check.ts";

/** kubo refuses blocks above 2 MiB over bitswap; a node declaring more is not ours. */
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024 + 4096;
const MAX_LINKS = 8192;

export interface UnixfsNode {
  /** Child blocks, in file order, with the file bytes each one covers. */
  links: Array<{ cid: string; size: number }>;
  /** File bytes held in this node itself (a leaf without raw-leaves, or a tiny file). */
  data: Uint8Array;
}

const bad = (cid: string, what: string) =>
  new ArtifactVerificationError(`block ${cid} of the pulled content is not valid UnixFS: ${what}`, "nothing was pinned or registered; report the peer that published it");

/** Throws unless `bytes` hash to `cid` (CIDv1/v0, sha2-256). */
export function verifyBlock(cid: string, bytes: Uint8Array): void {
  if (bytes.length > MAX_BLOCK_BYTES) throw bad(cid, `${bytes.length} bytes is above the ${MAX_BLOCK_BYTES}-byte block limit`);
  if (!blockMatchesCid(cid, bytes)) {
    throw new BlockHashMismatchError(`the bytes received for block ${cid} do not hash to its CID`, "nothing was pinned or registered; retry, and report the peer if it persists");
  }
}

/** The codec of a block's CID: raw (file bytes as is) or dag-pb (UnixFS node). */
export function blockCodec(cid: string): "raw" | "dag-pb" {
  const code = CID.parse(cid).code;
  if (code === RAW_CODEC) return "raw";
  if (code === DAG_PB_CODEC) return "dag-pb";
  throw bad(cid, `codec 0x${code.toString(16)} is neither raw nor dag-pb`);
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, private readonly cid: string) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 9; i++) {
      if (this.pos >= this.buf.length) throw bad(this.cid, "truncated varint");
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(value)) throw bad(this.cid, "varint too large");
        return value;
      }
      mul *= 128;
    }
    throw bad(this.cid, "varint too long");
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw bad(this.cid, "field runs past the block");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.bytes();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw bad(this.cid, `protobuf wire type ${wire}`);
  }
}

/** Decode a dag-pb block holding a UnixFS file (or raw) node. */
export function decodeUnixfsNode(cid: string, block: Uint8Array): UnixfsNode {
  const r = new Reader(block, cid);
  const hashes: Uint8Array[] = [];
  let pbData: Uint8Array | null = null;
  while (!r.done) {
    const key = r.varint();
    const field = key >>> 3;
    if (field === 2 && (key & 7) === 2) {
      const link = new Reader(r.bytes(), cid);
      let hash: Uint8Array | null = null;
      while (!link.done) {
        const k = link.varint();
        if (k >>> 3 === 1 && (k & 7) === 2) hash = link.bytes();
        else link.skip(k & 7);
      }
      if (!hash) throw bad(cid, "a link without a hash");
      hashes.push(hash);
      if (hashes.length > MAX_LINKS) throw bad(cid, `more than ${MAX_LINKS} links`);
    } else if (field === 1 && (key & 7) === 2) pbData = r.bytes();
    else r.skip(key & 7);
  }
  if (!pbData) throw bad(cid, "no UnixFS data");
  const u = new Reader(pbData, cid);
  let type = -1;
  let data: Uint8Array = new Uint8Array(0);
  const blocksizes: number[] = [];
  while (!u.done) {
    const key = u.varint();
    const field = key >>> 3;
    if (field === 1 && (key & 7) === 0) type = u.varint();
    else if (field === 2 && (key & 7) === 2) data = u.bytes();
    else if (field === 4 && (key & 7) === 0) blocksizes.push(u.varint());
    else if (field === 4 && (key & 7) === 2) {
      const packed = new Reader(u.bytes(), cid);
      while (!packed.done) blocksizes.push(packed.varint());
    } else u.skip(key & 7);
  }
  if (type !== 0 && type !== 2) throw bad(cid, `UnixFS type ${type} is not a file`);
  if (blocksizes.length !== hashes.length) throw bad(cid, `${hashes.length} links but ${blocksizes.length} block sizes`);
  const links = hashes.map((h, i) => {
    let child: string;
    try {
      child = CID.decode(h).toV1().toString();
    } catch {
      throw bad(cid, "a link hash that is not a CID");
    }
    return { cid: child, size: blocksizes[i]! };
  });
  return { links, data };
}
