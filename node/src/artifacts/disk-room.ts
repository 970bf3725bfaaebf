// Before a model pull fetches a byte: does its declared size fit? A registration may declare up to
// 1 TiB, so the size is checked against the free space of every place the bytes land — the models
// directory (the GGUF file) and kubo's repo (the pinned blocks), twice the size when both share a
// filesystem — plus a margin, and refused with a clear error when it does not fit.
import { statfsSync, statSync } from "node:fs";
import { RippleError } from "../errors.ts";

/** Kept free beyond the model: 5% of its size plus 256 MiB. */
export function diskMargin(size: number): number {
  return Math.ceil(size * 0.05) + 256 * 2 ** 20;
}

export class DiskRoomError extends RippleError {}

export interface FreeSpace {
  /** Free bytes available to this process on the filesystem holding `dir`. */
  free(dir: string): number;
  /** Which filesystem holds `dir` (equal ids share their free space). */
  device(dir: string): number;
}

export const realFreeSpace: FreeSpace = {
  free: (dir) => {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  },
  device: (dir) => statSync(dir).dev,
};

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;

/** Throws DiskRoomError unless `size` bytes in each of `dirs` (with the margin) fit in their filesystems' free space. */
export function assertDiskRoom(what: string, size: number, dirs: string[], fs: FreeSpace = realFreeSpace): void {
  const need = new Map<number, { dirs: string[]; bytes: number }>();
  for (const dir of dirs) {
    const dev = fs.device(dir);
    const e = need.get(dev) ?? { dirs: [], bytes: 0 };
    e.dirs.push(dir);
    e.bytes += size;
    need.set(dev, e);
  }
  for (const { dirs: on, bytes } of need.values()) {
    const free = fs.free(on[0]!);
    const want = bytes + diskMargin(size);
    if (want > free) {
      throw new DiskRoomError(
        `${what} declares ${size} bytes (${gib(size)}); storing it in ${on.join(" and ")} needs ${gib(want)} with the margin, but only ${gib(free)} is free there; nothing was fetched`,
        "free disk space (or move the data dir to a larger disk) and retry; if that size is not what the model should be, do not trust that registration",
      );
    }
  }
}
