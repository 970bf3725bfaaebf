// What a model artifact's mime records: the GGUF type plus the add parameters that reproduce its
// CID (chunker, raw leaves, CID version), and the chunk size a pull may expect from it.
import type { ChunkingParams } from "../config/storage-policy.ts";
import { CID } from "./ipfs-store.ts";

export const GGUF_MIME = "application/vnd.gguf";

/** The mime recorded with a model artifact: the type plus the add parameters that give its CID. */
export function modelMime(c: ChunkingParams): string {
  return `${GGUF_MIME}; chunker=${c.chunker}; raw-leaves=${c.rawLeaves ? 1 : 0}; cid-version=${c.cidVersion}`;
}

/** The chunking a model artifact's mime records, or null when it records none we can reproduce. */
export function chunkingFromMime(mime: string): ChunkingParams | null {
  const [type, ...params] = mime.split(";").map((s) => s.trim());
  if (type !== GGUF_MIME) return null;
  const kv = new Map(params.map((p) => p.split("=", 2) as [string, string]));
  const chunker = kv.get("chunker");
  if (!chunker || !/^size-\d+$/.test(chunker)) return null;
  if (kv.get("cid-version") !== "1") return null;
  const raw = kv.get("raw-leaves");
  if (raw !== "0" && raw !== "1") return null;
  return { chunker, rawLeaves: raw === "1", cidVersion: 1 };
}

/**
 * The fixed chunk size a model artifact's mime records, as BlockPull's option: none when unreadable
 * or outside what the storage policy allows (1 KiB – 2 MiB; a registration saying "size-1" must not
 * lift the leaf cap).
 */
export function chunkBytesOf(mime: string): { chunkBytes?: number } {
  const chunker = chunkingFromMime(mime)?.chunker;
  const bytes = chunker ? Number(chunker.slice("size-".length)) : NaN;
  return bytes >= 1024 && bytes <= 2 * 1024 * 1024 ? { chunkBytes: bytes } : {};
}

export function looksLikeCid(ref: string): boolean {
  try {
    CID.parse(ref);
    return ref.length >= 40;
  } catch {
    return false;
  }
}
