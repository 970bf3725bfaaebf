// Hand-made UnixFS blocks for tests: a minimal protobuf writer for dag-pb nodes with UnixFS file
// data, and CIDv1 (sha2-256) of raw or dag-pb bytes, so that tests can build DAGs kubo would not.
import { createHash } from "node:crypto";
import { CID } from "../../src/artifacts/ipfs-store.ts";

export const RAW = 0x55;
export const DAG_PB = 0x70;

export const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(Math.floor(n / 128))]);
/** A length-delimited protobuf field. */
export const field = (f: number, bytes: Uint8Array | number[]) => [(f << 3) | 2, ...varint(bytes.length), ...bytes];
export const cidOf = (codec: number, bytes: Uint8Array) => CID.decode(Uint8Array.from([0x01, codec, 0x12, 0x20, ...createHash("sha256").update(bytes).digest()]));
/** UnixFS Data of a file node: its own bytes (may be empty) and its children's block sizes. */
export const unixfsFile = (data: Uint8Array, sizes: number[]) => [
  0x08,
  2,
  ...(data.length ? field(2, data) : []),
  0x18,
  ...varint(data.length + sizes.reduce((x, y) => x + y, 0)),
  ...sizes.flatMap((n) => [0x20, ...varint(n)]),
];
/** A dag-pb node: links (by CID) before its UnixFS data, as dag-pb orders them. */
export const pbNode = (links: CID[], unixfs: number[]) => Uint8Array.from([...links.flatMap((c) => field(2, field(1, c.bytes))), ...field(1, unixfs)]);
