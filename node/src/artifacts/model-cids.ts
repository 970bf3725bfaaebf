// name → CID of the models this node published or pulled (DATA_DIR/<network>/model-cids.json).
import { readFileSync, renameSync, writeFileSync } from "node:fs";

export class ModelCids {
  private map: Record<string, { cid: string; sha256: string }> = {};
  constructor(private readonly file: string) {
    try {
      this.map = JSON.parse(readFileSync(file, "utf8")) as typeof this.map;
    } catch {
      this.map = {};
    }
  }
  get(name: string) {
    return this.map[name];
  }
  /** The name recorded for a CID (the first, if several names share it). */
  nameOf(cid: string): string | undefined {
    return Object.keys(this.map).find((n) => this.map[n]!.cid === cid);
  }
  set(name: string, v: { cid: string; sha256: string }): void {
    this.map[name] = v;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.map, null, 2));
    renameSync(tmp, this.file);
  }
}
