// The local IPFS cache: content this node fetched for its own use (outputs and prompts it read)
// without pinning it for serving. kubo's own GC drops every unpinned block at once, so cached
// content is held by a pin of its own and recorded here with its size and last use; when the
// cache grows past the policy's size, the least recently used entries lose their pin and a GC
// frees their blocks. Content pinned for serving (models, artifacts this node wrote) is never here.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";

const ledgerSchema = z.strictObject({
  schema: z.literal(1),
  entries: z.array(z.strictObject({ cid: z.string().min(1).max(128), bytes: z.number().int().min(0), lastAccessMs: z.number().min(0) })).max(1_000_000),
});
export type CacheEntry = z.infer<typeof ledgerSchema>["entries"][number];

/** Which entries to evict (least recently used first) so that the rest fit in maxBytes. Pure. */
export function lruEvictions(entries: CacheEntry[], maxBytes: number): CacheEntry[] {
  let total = entries.reduce((s, e) => s + e.bytes, 0);
  const out: CacheEntry[] = [];
  for (const e of [...entries].sort((a, b) => a.lastAccessMs - b.lastAccessMs || a.cid.localeCompare(b.cid))) {
    if (total <= maxBytes) break;
    out.push(e);
    total -= e.bytes;
  }
  return out;
}

export class CacheLedger {
  private entries = new Map<string, CacheEntry>();

  constructor(private readonly file: string) {
    try {
      const parsed = ledgerSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
      if (parsed.success) this.entries = new Map(parsed.data.entries.map((e) => [e.cid, e]));
    } catch {
      // none yet (or unreadable: start empty; the pins it recorded are found again by GC-less reads)
    }
  }

  has(cid: string): boolean {
    return this.entries.has(cid);
  }

  get totalBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.bytes;
    return n;
  }

  list(): CacheEntry[] {
    return [...this.entries.values()];
  }

  touch(cid: string, bytes: number, nowMs = Date.now()): void {
    this.entries.set(cid, { cid, bytes, lastAccessMs: nowMs });
    this.save();
  }

  remove(cids: string[]): void {
    for (const c of cids) this.entries.delete(c);
    this.save();
  }

  private save(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ schema: 1, entries: this.list() }));
    renameSync(tmp, this.file);
  }
}
