// A node's registry of the GGUF models it serves, by name: `<dataDir>/models.json`. Entries only
// point into the models directory (a file added from elsewhere is hard-linked there), carry the
// sha256 the mesh advertises, and the file's size and mtime, so that "is it still the same file"
// costs one stat instead of hashing half a gigabyte.
import { randomBytes } from "node:crypto";
import {
  constants,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  type Stats,
} from "node:fs";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import type { ModelRef } from "@ripple-mesh/zome-bindings";
import { versionsFile as pinnedVersionsFile } from "../config/paths.mjs";
import { modelNameSchema } from "../config/versions-schema.mjs";
import type { Logger } from "../log.ts";
import { InferenceError } from "./inference-errors.ts";
import type { RegisteredModel } from "./inference-types.ts";
import { errText, ModelRegistryError, readRegistry, sha256Schema, writeRegistry, type StoredModel } from "./model-registry-file.ts";
import { hashFile, hasGgufMagic } from "./gguf-file.ts";
import { installedPins, loadPins, type Pin } from "./pinned-models.ts";
import { readPinsOffered, writePinsOffered } from "./pins-offered-file.ts";

export { ModelRegistryError };

/** What `remove` did: the entry is gone from the registry; its GGUF file stays where it was. */
export interface RemovedModel {
  removed: RegisteredModel;
  /** The GGUF file, still on disk: `remove` never deletes it. */
  fileKept: string;
}

export interface ModelStoreOptions {
  dataDir: string;
  /** The node's models directory (setup's `modelsDir()`); every registered file lives under it. */
  modelsDir: string;
  log: Logger;
  /** The pinned models registered when installed; defaults to manifests/holochain/versions.json. */
  versionsFile?: string;
}

export class ModelStore {
  private models: Map<string, StoredModel>;
  /** Mutations run one at a time, each reading models.json afresh (the CLI may have changed it). */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly file: string,
    readonly modelsDir: string,
    private readonly log: Logger,
    models: StoredModel[],
    private readonly dataDir: string,
    private readonly pins: Pin[],
  ) {
    this.models = new Map(models.map((m) => [m.name, m]));
  }

  /**
   * Read `<dataDir>/models.json` (none yet: an empty registry) and register the pinned models
   * installed in modelsDir that were never offered to it (pins-offered-file.ts): all of them on a
   * first start, and on later starts a model a newer setup installed (an upgrade adds an expert's
   * model). A pin offered once is not registered again, so one the user unregistered stays so.
   */
  static async open(opts: ModelStoreOptions): Promise<ModelStore> {
    const dataDir = resolve(opts.dataDir);
    const file = join(dataDir, "models.json");
    const log = opts.log.child({ seam: "model-store" });
    const existing = readRegistry(file);
    const store = new ModelStore(file, resolve(opts.modelsDir), log, existing ?? [], dataDir, loadPins(opts.versionsFile ?? pinnedVersionsFile));
    for (const m of existing ?? []) {
      if (!existsSync(m.file)) log.warn({ model: m.name, file: m.file }, `the file of model "${m.name}" is missing`);
    }
    await store.registerPinned({ firstStart: existing === null });
    return store;
  }

  list(): RegisteredModel[] {
    return [...this.models.values()].sort((a, b) => a.name.localeCompare(b.name)).map(publicView);
  }

  has(name: string): boolean {
    return this.models.has(name);
  }

  get(name: string): RegisteredModel {
    const m = this.models.get(name);
    if (!m) throw this.notFound(name);
    return publicView(m);
  }

  /**
   * Register a GGUF file under `name` (default: its file name without `.gguf`, lowercased). A file
   * outside the models directory is hard-linked (across file systems: copied) into it. Nothing that
   * is registered changes unless the whole add succeeds.
   */
  add(path: string, opts: { name?: string; sha256?: string } = {}): Promise<RegisteredModel> {
    return this.serialize(async () => {
      const source = checkGgufFile(path);
      const name = opts.name ?? basename(source).replace(/\.gguf$/i, "").toLowerCase();
      checkName(name, opts.name === undefined ? source : undefined);
      const expected = opts.sha256?.toLowerCase();
      if (expected !== undefined && !sha256Schema.safeParse(expected).success) {
        throw badRequest(`the expected sha256 "${opts.sha256}" is not 64 hex digits`, "pass the file's sha256 as printed by `sha256sum`, or leave out --sha256");
      }
      const placed = this.placeInModelsDir(source);
      try {
        const sha256 = await hashFile(placed.file, this.log);
        // Read after hashing: another process (the node, or the CLI) may have written meanwhile.
        const models = this.reload();
        if (expected !== undefined && sha256 !== expected) {
          throw badRequest(
            `${source} has sha256 ${sha256}, but ${expected} was expected`,
            "check that this is the file you meant (download it again if it is damaged), or leave out --sha256",
          );
        }
        const existing = models.get(name);
        if (existing && existing.sha256 !== sha256) {
          throw badRequest(
            `a model named "${name}" is already registered with sha256 ${existing.sha256} (${existing.file}); ${source} has sha256 ${sha256}`,
            `unregister it first with \`ripple models rm ${name}\`, or give this file another name with --name`,
          );
        }
        const st = statSync(placed.file);
        const entry: StoredModel = { name, file: placed.file, sha256, bytes: st.size, mtimeMs: st.mtimeMs };
        this.commit(new Map(models).set(name, entry));
        this.log.info({ model: name, file: entry.file, sha256, bytes: entry.bytes, linked: placed.created }, `registered model "${name}"`);
        return publicView(entry);
      } catch (err) {
        if (placed.created) rmSync(placed.file, { force: true });
        throw err;
      }
    });
  }

  /** Unregister `name`. The GGUF file is NOT deleted (other names or nodes may share it); see `fileKept`. */
  remove(name: string): Promise<RemovedModel> {
    return this.serialize(async () => {
      const models = this.reload();
      const m = models.get(name);
      if (!m) throw this.notFound(name);
      const next = new Map(models);
      next.delete(name);
      this.commit(next);
      this.log.info({ model: name, file: m.file }, `unregistered model "${name}" (its file is kept)`);
      return { removed: publicView(m), fileKept: m.file };
    });
  }

  /**
   * Check that `name`'s file is still the one registered: same size and mtime, or else (or with
   * `rehash`) the same sha256, in which case the new mtime is recorded.
   */
  verify(name: string, opts: { rehash?: boolean } = {}): Promise<{ model: RegisteredModel; rehashed: boolean }> {
    return this.serialize(async () => {
      const models = this.reload();
      const m = models.get(name);
      if (!m) throw this.notFound(name);
      let st: Stats;
      try {
        st = statSync(m.file);
      } catch (err) {
        throw new InferenceError("failed", `the file of model "${name}" (${m.file}) is gone`, `restore it, or unregister the model with \`ripple models rm ${name}\``, {
          cause: err,
        });
      }
      if (!opts.rehash && st.size === m.bytes && st.mtimeMs === m.mtimeMs) return { model: publicView(m), rehashed: false };
      const sha256 = await hashFile(m.file, this.log);
      if (sha256 !== m.sha256) {
        throw new InferenceError(
          "failed",
          `model "${name}": ${m.file} changed since it was registered (sha256 now ${sha256}, registered ${m.sha256})`,
          `restore the original file, or register the new one: \`ripple models rm ${name}\` then \`ripple models add ${m.file} --name ${name}\``,
        );
      }
      const entry = { ...m, bytes: st.size, mtimeMs: st.mtimeMs };
      // Read again after hashing (another process may have written meanwhile), and only if the entry is still this one.
      const current = this.reload();
      if (current.get(name)?.file === m.file && current.get(name)?.sha256 === m.sha256) this.commit(current.set(name, entry));
      return { model: publicView(entry), rehashed: true };
    });
  }

  /**
   * Read models.json again (`ripple models add|rm` writes it while the node runs) and say what
   * changed since this store last read it: names added, removed, and registered to another file or
   * sha256.
   */
  rescan(): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    return this.serialize(async () => {
      const before = new Map(this.models);
      const after = this.reload();
      const sorted = (names: Iterable<string>) => [...names].sort();
      return {
        added: sorted([...after.keys()].filter((n) => !before.has(n))),
        removed: sorted([...before.keys()].filter((n) => !after.has(n))),
        changed: sorted(
          [...after.values()].filter((m) => {
            const old = before.get(m.name);
            return old !== undefined && (old.sha256 !== m.sha256 || old.file !== m.file);
          }).map((m) => m.name),
        ),
      };
    });
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private reload(): Map<string, StoredModel> {
    const models = readRegistry(this.file) ?? [];
    this.models = new Map(models.map((m) => [m.name, m]));
    return new Map(this.models);
  }

  /** Write first, then adopt: a failed write leaves both models.json and memory as they were. */
  private commit(next: Map<string, StoredModel>): void {
    writeRegistry(this.file, [...next.values()]);
    this.models = next;
  }

  private notFound(name: string): InferenceError {
    const names = [...this.models.keys()].sort();
    const nameArg = modelNameSchema.safeParse(name).success ? name : "<name>";
    return new InferenceError(
      "model_not_found",
      `model "${name}" is not registered on this node (${names.length ? `registered: ${names.join(", ")}` : "no model is registered"})`,
      `register it with \`ripple models add <file.gguf> --name ${nameArg}\``,
    );
  }

  /** The file's path under modelsDir: itself when it is already there, else a new hard link (or copy). */
  private placeInModelsDir(source: string): { file: string; created: boolean } {
    const dir = existsSync(this.modelsDir) ? realpathSync(this.modelsDir) : this.modelsDir;
    const rel = relative(dir, source);
    if (rel && !rel.startsWith("..") && !isAbsolute(rel)) return { file: join(this.modelsDir, rel), created: false };
    const target = join(this.modelsDir, basename(source));
    if (existsSync(target)) {
      if (sameInode(statSync(target), statSync(source))) return { file: target, created: false };
      throw badRequest(
        `${target} already exists and is not ${source}`,
        `register that file instead (\`ripple models add ${target}\`), or rename yours before adding it`,
      );
    }
    mkdirSync(this.modelsDir, { recursive: true });
    try {
      linkSync(source, target);
    } catch (err) {
      // Another file system (EXDEV) or one without hard links: copy, through a temporary name so
      // that a half-written copy never sits at `target`.
      const tmp = `${target}.${randomBytes(4).toString("hex")}.partial`;
      try {
        copyFileSync(source, tmp, constants.COPYFILE_FICLONE);
        renameSync(tmp, target);
      } catch (copyErr) {
        rmSync(tmp, { force: true });
        throw badRequest(`cannot link or copy ${source} into ${this.modelsDir} (${errText(err)}; ${errText(copyErr)})`, `check that ${this.modelsDir} is writable and has room`, copyErr);
      }
      this.log.info({ from: source, to: target, linkError: errText(err) }, "copied the model into the models directory (no hard link possible)");
    }
    return { file: target, created: true };
  }

  /**
   * Register the pinned models (versions.json) installed in modelsDir that were never offered to
   * this registry, unless the same file or sha256 is registered already (under any name). Hashing
   * happens outside the write; the write re-reads models.json, so a `ripple models add|rm` made
   * meanwhile is kept.
   */
  private async registerPinned({ firstStart }: { firstStart: boolean }): Promise<void> {
    const offered = readPinsOffered(this.dataDir, !firstStart);
    const found = await installedPins(this.pins.filter((p) => !offered.has(p.file)), this.modelsDir, this.log);
    await this.serialize(async () => {
      const next = this.reload();
      for (const { pin, entry } of found) {
        offered.add(pin.file);
        const taken = next.get(entry.name) ?? [...next.values()].find((m) => m.file === entry.file || m.sha256 === entry.sha256);
        if (taken) {
          this.log.info({ model: entry.name, registeredAs: taken.name }, `pinned model "${entry.name}" not registered: "${taken.name}" is registered already`);
          continue;
        }
        next.set(entry.name, entry);
        const how = firstStart ? "" : ` (installed since this node's models.json was written; \`ripple models rm ${entry.name}\` stops serving it)`;
        this.log.info({ model: entry.name, file: entry.file, sha256: entry.sha256 }, `registered pinned model "${entry.name}"${how}`);
      }
      if (firstStart || next.size !== this.models.size) this.commit(next);
      if (found.length > 0) writePinsOffered(this.dataDir, offered);
    });
  }
}

/** The capability advert's model list: each registered model by name and sha256 (no IPFS CID yet). */
export function modelRefs(store: ModelStore): ModelRef[] {
  return store.list().map((m) => ({ name: m.name, sha256: m.sha256, cid: null }));
}

function publicView(m: StoredModel): RegisteredModel {
  return { name: m.name, file: m.file, sha256: m.sha256, bytes: m.bytes };
}

function badRequest(message: string, fix: string, cause?: unknown): InferenceError {
  return new InferenceError("bad_request", message, fix, cause === undefined ? undefined : { cause });
}

function sameInode(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** The real path of an existing regular file that starts with the GGUF magic, or a bad_request error. */
function checkGgufFile(path: string): string {
  const abs = resolve(path);
  let st: Stats;
  try {
    st = statSync(abs);
  } catch (err) {
    throw badRequest(`${abs} does not exist (${errText(err)})`, "give the path of a .gguf model file", err);
  }
  if (!st.isFile()) throw badRequest(`${abs} is not a file`, "give the path of a .gguf model file");
  if (!hasGgufMagic(abs)) {
    throw badRequest(`${abs} is not a GGUF file (it does not start with the bytes "GGUF")`, "give a model in llama.cpp's GGUF format (convert others with llama.cpp's convert_hf_to_gguf.py)");
  }
  return realpathSync(abs);
}

function checkName(name: string, defaultedFrom: string | undefined): void {
  if (modelNameSchema.safeParse(name).success) return;
  const why = defaultedFrom ? ` (taken from the file name of ${defaultedFrom})` : "";
  throw badRequest(`"${name}" is not a valid model name${why}: use 1-64 characters of a-z 0-9 . _ -`, "pass a valid name with --name, e.g. --name my-model-q4_k_m");
}
