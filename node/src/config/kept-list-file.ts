// A node's own short lists kept across restarts (the MOE run history, the slots it served): one
// JSON file `{version: 1, <key>: [...]}` in the data dir. The file is this node's own, but a damaged
// one is set aside (`<file>.bad`) and a damaged entry skipped, each logged, never fatal.
import { existsSync, readFileSync, renameSync } from "node:fs";
import { z } from "zod";
import type { Logger } from "../log.ts";
import { writeJsonAtomic } from "./json-file.ts";

export interface KeptList<T> {
  file: string;
  /** The array's key in the file ("jobs", "slots"). */
  key: string;
  /** What the list is, for the logs ("the MOE history"). */
  what: string;
  entry: z.ZodType<T>;
  log: Logger;
}

/** The entries as saved, oldest first; [] when the file is missing or damaged. */
export function loadKeptList<T>(list: KeptList<T>): T[] {
  const { file, key, what, log } = list;
  if (!existsSync(file)) return [];
  let raw: unknown[];
  try {
    raw = z.object({ version: z.literal(1), [key]: z.array(z.unknown()) }).parse(JSON.parse(readFileSync(file, "utf8")))[key] as unknown[];
  } catch (err) {
    const aside = `${file}.bad`;
    log.warn({ file, aside, err: (err as Error).message.slice(0, 300) }, `the file of ${what} is damaged; setting it aside and starting empty`);
    try {
      renameSync(file, aside);
    } catch {
      // The next save replaces it.
    }
    return [];
  }
  const kept: T[] = [];
  for (const entry of raw) {
    const parsed = list.entry.safeParse(entry);
    if (parsed.success) kept.push(parsed.data);
    else log.warn({ file, err: parsed.error.issues[0]?.message }, `skipping a damaged entry in the file of ${what}`);
  }
  return kept;
}

/** Never throws: a list that cannot be saved is logged (it is kept in memory still). */
export function saveKeptList<T>(list: Omit<KeptList<T>, "entry">, entries: readonly T[]): void {
  try {
    writeJsonAtomic(list.file, { version: 1, [list.key]: entries });
  } catch (err) {
    list.log.warn({ file: list.file, err: (err as Error).message }, `could not save ${list.what}`);
  }
}
