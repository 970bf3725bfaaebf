// Reads an SQLite database as of its last committed transaction, write-ahead log included, page by
// page, without SQLite: the conductor leaves its wasm database in WAL mode with frames not yet
// checkpointed, and the pages (encrypted by SQLCipher) cannot be opened by a plain SQLite anyway.
// Follows SQLite's own WAL recovery: frames count while their salts match the header and their
// cumulative checksums hold, up to the last commit frame (https://www.sqlite.org/fileformat.html#the_write_ahead_log).
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { RippleError } from "../errors.ts";

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

export interface CommittedPages {
  pageSize: number;
  /** Pages in the database after the last commit. */
  pageCount: number;
  /** The stored bytes of page pgno (1-based), from the log where it holds a newer copy. */
  read(pgno: number): Buffer;
  close(): void;
}

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, position);
  return n === length ? buf : buf.subarray(0, n);
}

function checksum(bigEndian: boolean, data: Buffer, s: [number, number]): [number, number] {
  let [s1, s2] = s;
  for (let i = 0; i < data.length; i += 8) {
    const a = bigEndian ? data.readUInt32BE(i) : data.readUInt32LE(i);
    const b = bigEndian ? data.readUInt32BE(i + 4) : data.readUInt32LE(i + 4);
    s1 = (s1 + a + s2) >>> 0;
    s2 = (s2 + b + s1) >>> 0;
  }
  return [s1, s2];
}

/** pgno → offset in the log of its newest committed frame, and the page count after that commit. */
function committedFrames(walFd: number, pageSize: number): { frames: Map<number, number>; pageCount: number } | undefined {
  const header = readAt(walFd, WAL_HEADER, 0);
  if (header.length < WAL_HEADER) return undefined;
  const magic = header.readUInt32BE(0);
  if ((magic & 0xfffffffe) !== 0x377f0682 || header.readUInt32BE(8) !== pageSize) return undefined;
  const bigEndian = (magic & 1) === 1;
  let sum = checksum(bigEndian, header.subarray(0, 24), [0, 0]);
  if (sum[0] !== header.readUInt32BE(24) || sum[1] !== header.readUInt32BE(28)) return undefined;
  const salts = header.subarray(16, 24);
  const frames = new Map<number, number>();
  const pending = new Map<number, number>();
  let pageCount = 0;
  const walSize = fstatSync(walFd).size;
  for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= walSize; at += FRAME_HEADER + pageSize) {
    const frame = readAt(walFd, FRAME_HEADER + pageSize, at);
    if (!frame.subarray(8, 16).equals(salts)) break;
    sum = checksum(bigEndian, frame.subarray(0, 8), sum);
    sum = checksum(bigEndian, frame.subarray(FRAME_HEADER), sum);
    if (sum[0] !== frame.readUInt32BE(16) || sum[1] !== frame.readUInt32BE(20)) break;
    pending.set(frame.readUInt32BE(0), at + FRAME_HEADER);
    const commitSize = frame.readUInt32BE(4);
    if (commitSize !== 0) {
      for (const [pgno, offset] of pending) frames.set(pgno, offset);
      pending.clear();
      pageCount = commitSize;
    }
  }
  return frames.size > 0 ? { frames, pageCount } : undefined;
}

/** Opens `file` (and `file-wal` when present) for reading its committed pages. */
export function openCommittedPages(file: string): CommittedPages {
  const dbFd = openSync(file, "r");
  const walFile = `${file}-wal`;
  const walFd = existsSync(walFile) ? openSync(walFile, "r") : undefined;
  const close = () => {
    closeSync(dbFd);
    if (walFd !== undefined) closeSync(walFd);
  };
  const header = readAt(dbFd, 100, 0);
  if (header.length < 100 || header.subarray(0, 16).toString("latin1") !== "SQLite format 3\0") {
    close();
    throw new RippleError(`${file} is not an SQLite database with a plaintext header`, "delete it; it is a cache that the conductor rebuilds");
  }
  const rawSize = header.readUInt16BE(16);
  const pageSize = rawSize === 1 ? 65536 : rawSize;
  const log = walFd === undefined ? undefined : committedFrames(walFd, pageSize);
  const size = fstatSync(dbFd).size;
  if (!log && size % pageSize !== 0) {
    close();
    throw new RippleError(`${file} is cut short (${size} bytes is not a whole number of ${pageSize}-byte pages)`, "delete it; it is a cache that the conductor rebuilds");
  }
  const pageCount = log?.pageCount ?? size / pageSize;
  return {
    pageSize,
    pageCount,
    read(pgno: number): Buffer {
      const inLog = log?.frames.get(pgno);
      const page = inLog !== undefined ? readAt(walFd!, pageSize, inLog) : readAt(dbFd, pageSize, (pgno - 1) * pageSize);
      if (page.length !== pageSize) throw new RippleError(`${file}: page ${pgno} is cut short`, "delete it; it is a cache that the conductor rebuilds");
      return page;
    },
    close,
  };
}
