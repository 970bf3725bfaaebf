// The model store on real files: copies of the tiny test GGUF in temporary data and models
// directories (never workdir/), the first open, models.json read back by a fresh store, a corrupt
// models.json left exactly as it was, and every error path of get and add (remove, rescan and
// verify: model-store-changes.test.ts).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { beforeEach, describe, expect, it } from "vitest";
import { modelsDir as realModelsDir, versionsFile } from "../src/config/paths.mjs";
import { verifiedSha256 } from "../src/config/hashing.mjs";
import { ModelRegistryError, ModelStore } from "../src/inference/model-store.ts";
import { nodeModelsDir, recordModelsDir } from "../src/inference/models-dir-file.ts";
import { dataDir, inferenceError, logs, modelsDir, open, pins, registryFile, root, sha256Of, tinySha, tinySource, useModelStoreDirs } from "./support/model-store-fixtures.ts";

useModelStoreDirs();

describe("first open registers the pinned models present in modelsDir", () => {
  it("registers the tiny model (hashed: it has no setup stamp) and writes models.json 0644", async () => {
    const store = await open();
    expect(store.list()).toEqual([{ name: pins.tiny.name, file: join(modelsDir, pins.tiny.file), sha256: tinySha, bytes: statSync(tinySource).size }]);
    expect(store.has(pins.default.name)).toBe(false);
    expect(store.has(pins.gemma.name)).toBe(false);
    expect(store.has(pins.smol.name)).toBe(false);
    expect(logs.lines.find((l) => l.model === pins.tiny.name && l.from)).toMatchObject({ from: "hashed" });
    expect(statSync(registryFile).mode & 0o777).toBe(0o644);
    expect(JSON.parse(readFileSync(registryFile, "utf8")).models.map((m: { name: string }) => m.name)).toEqual([pins.tiny.name]);
    expect(readdirSync(dataDir)).toEqual(["models.json", "pins-offered.json"]); // no temporary file left behind
  });

  const installed = [pins.default, pins.gemma, pins.smol].every((p) => verifiedSha256(join(realModelsDir(), p.file)) === p.sha256);
  it.skipIf(!installed)("registers the installed Qwen, Gemma and SmolLM2 from their setup stamps, without hashing them", async () => {
    const started = Date.now();
    const store = await ModelStore.open({ dataDir, modelsDir: realModelsDir(), log: logs.log });
    const ms = Date.now() - started;
    for (const pin of [pins.default, pins.gemma, pins.smol]) {
      expect(store.get(pin.name)).toEqual({ name: pin.name, file: join(realModelsDir(), pin.file), sha256: pin.sha256, bytes: pin.bytes });
      expect(logs.lines.find((l) => l.model === pin.name && l.from)).toMatchObject({ from: "setup stamp" });
    }
    expect(store.get(pins.tiny.name).sha256).toBe(tinySha);
    expect(ms, "840 MB were hashed instead of read from the stamps").toBeLessThan(1500);
  });

  describe("with a pin pointing at a copy of the tiny model", () => {
    let pinnedFile: string;
    let customVersions: string;
    beforeEach(() => {
      pinnedFile = join(modelsDir, "pinned.gguf");
      copyFileSync(tinySource, pinnedFile);
      const raw = JSON.parse(readFileSync(versionsFile, "utf8"));
      raw.models.default = { ...raw.models.default, name: "pinned", file: "pinned.gguf", sha256: tinySha, bytes: statSync(pinnedFile).size };
      customVersions = join(root, "versions.json");
      writeFileSync(customVersions, JSON.stringify(raw));
    });
    const stamp = (sha: string, mtimeMs = statSync(pinnedFile).mtimeMs) =>
      writeFileSync(`${pinnedFile}.verified.json`, JSON.stringify({ sha256: sha, size: statSync(pinnedFile).size, mtimeMs }));
    const from = () => logs.lines.find((l) => l.model === "pinned" && l.from)?.from;

    it("trusts a stamp written for this size and mtime", async () => {
      stamp(tinySha);
      expect((await open({ versionsFile: customVersions })).get("pinned").sha256).toBe(tinySha);
      expect(from()).toBe("setup stamp");
    });

    it("hashes when the stamp is stale (another mtime)", async () => {
      stamp(tinySha, 12345);
      expect((await open({ versionsFile: customVersions })).get("pinned").sha256).toBe(tinySha);
      expect(from()).toBe("hashed");
    });

    it("skips, with a warning, a file that is not the pinned one", async () => {
      const fd = openSync(pinnedFile, "r+");
      writeSync(fd, Buffer.from([0xff]), 0, 1, 1000); // same size, other content
      closeSync(fd);
      const store = await open({ versionsFile: customVersions });
      expect(store.has("pinned")).toBe(false);
      expect(store.has(pins.tiny.name)).toBe(true);
      expect(logs.lines.find((l) => l.level === 40 && l.model === "pinned")?.msg).toMatch(/not the pinned file/);
    });
  });
});

describe("a pinned model installed after models.json was written (an upgrade adds an expert's model)", () => {
  let newFile: string;
  let withNewPin: string;
  beforeEach(() => {
    // Another GGUF than the tiny one (its bytes plus one): a new pin, as a newer versions.json has.
    newFile = join(modelsDir, "newer.gguf");
    writeFileSync(newFile, Buffer.concat([readFileSync(tinySource), Buffer.from("x")]));
    const raw = JSON.parse(readFileSync(versionsFile, "utf8"));
    raw.models.smol = { ...raw.models.smol, name: "newer", file: "newer.gguf", sha256: sha256Of(newFile), bytes: statSync(newFile).size };
    withNewPin = join(root, "versions.json");
    writeFileSync(withNewPin, JSON.stringify(raw));
  });

  it("is registered on the next start, beside what was registered before", async () => {
    const before = await open();
    const outside = join(root, "Mine.gguf");
    copyFileSync(tinySource, outside);
    await before.add(outside);
    const after = await open({ versionsFile: withNewPin });
    expect(after.list().map((m) => m.name)).toEqual(["mine", "newer", pins.tiny.name]);
    expect(after.get("newer")).toMatchObject({ file: newFile, sha256: sha256Of(newFile) });
    expect(logs.lines.find((l) => l.model === "newer" && l.msg.startsWith("registered"))?.msg).toMatch(/installed since this node's models\.json was written; `ripple models rm newer`/);
    // A later start changes nothing.
    const written = readFileSync(registryFile, "utf8");
    expect((await open({ versionsFile: withNewPin })).list()).toEqual(after.list());
    expect(readFileSync(registryFile, "utf8")).toBe(written);
  });

  it("is offered once: removed, it stays removed (pins-offered.json), and adding it back works", async () => {
    await open();
    const store = await open({ versionsFile: withNewPin });
    expect(JSON.parse(readFileSync(join(dataDir, "pins-offered.json"), "utf8")).files).toEqual(["newer.gguf", pins.tiny.file]);
    await store.remove("newer");
    expect((await open({ versionsFile: withNewPin })).has("newer")).toBe(false);
    await (await open({ versionsFile: withNewPin })).add(newFile, { name: "newer" });
    expect((await open({ versionsFile: withNewPin })).has("newer")).toBe(true);
  });

  it("a models.json of an older build (no pins-offered.json) gets only the pins that build did not have", async () => {
    mkdirSync(dataDir);
    writeFileSync(registryFile, JSON.stringify({ schema: 1, models: [] })); // its user had removed the tiny model
    const store = await open({ versionsFile: withNewPin });
    expect(store.list().map((m) => m.name)).toEqual(["newer"]);
  });

  it("a corrupt pins-offered.json is a ModelRegistryError naming it, with the fix", async () => {
    await open();
    writeFileSync(join(dataDir, "pins-offered.json"), '{"schema": 1, "files": ["../x"]}');
    const err = await open({ versionsFile: withNewPin }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelRegistryError);
    expect((err as Error).message).toMatch(/pins-offered\.json: is not a list of offered pins: key files\.0/);
    expect((err as ModelRegistryError).fix).toMatch(/rm .*pins-offered\.json/);
  });

  it("keeps a `ripple models add` made while a start was registering", async () => {
    await open();
    const outside = join(root, "Mine.gguf");
    copyFileSync(tinySource, outside);
    const starting = open({ versionsFile: withNewPin }); // hashes newer.gguf (no setup stamp), then writes
    await (await open()).add(outside);
    await starting;
    expect((await open()).list().map((m) => m.name)).toEqual(["mine", "newer", pins.tiny.name]);
  });

  it("is not registered twice when it is already registered under another name", async () => {
    const store = await open();
    await store.add(newFile, { name: "by-hand" });
    const after = await open({ versionsFile: withNewPin });
    expect(after.has("newer")).toBe(false);
    expect(after.get("by-hand").file).toBe(newFile);
  });
});

describe("models.json", () => {
  it("is read back by a fresh store, which does not register the pins again", async () => {
    const store = await open();
    const outside = join(root, "Other-Model.gguf");
    copyFileSync(tinySource, outside);
    await store.add(outside);
    await store.remove(pins.tiny.name);
    const again = await open();
    expect(again.list()).toEqual(store.list());
    expect(again.list().map((m) => m.name)).toEqual(["other-model"]);
  });

  it("a corrupt file is a ModelRegistryError naming it and the fix, and is left untouched", async () => {
    mkdirSync(dataDir);
    writeFileSync(registryFile, '{"schema": 1, "models": [');
    const before = readFileSync(registryFile);
    const err = await open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelRegistryError);
    expect((err as Error).message).toContain(registryFile);
    expect((err as Error).message).toMatch(/not valid JSON/);
    expect((err as ModelRegistryError).fix).toMatch(/mv .*models\.json/);
    expect(readFileSync(registryFile).equals(before)).toBe(true);
  });

  it("an invalid entry names the key", async () => {
    mkdirSync(dataDir);
    const entry = { name: "x", file: join(modelsDir, pins.tiny.file), sha256: "abc", bytes: 1, mtimeMs: 1 };
    writeFileSync(registryFile, JSON.stringify({ schema: 1, models: [entry] }));
    await expect(open()).rejects.toThrow(/key models\.0\.sha256/);
    writeFileSync(registryFile, JSON.stringify({ schema: 1, models: [{ ...entry, sha256: tinySha }, { ...entry, sha256: tinySha }] }));
    await expect(open()).rejects.toThrow(/models\.1\.name: "x" is registered twice/);
    writeFileSync(registryFile, JSON.stringify({ schema: 1, models: [], extra: true }));
    await expect(open()).rejects.toThrow(ModelRegistryError);
  });

  it("corrupted while the store is open: add fails, nothing is lost, no link is left behind", async () => {
    const store = await open();
    const before = store.list();
    writeFileSync(registryFile, "garbage");
    const outside = join(root, "late.gguf");
    copyFileSync(tinySource, outside);
    await expect(store.add(outside)).rejects.toThrow(ModelRegistryError);
    expect(readFileSync(registryFile, "utf8")).toBe("garbage");
    expect(store.list()).toEqual(before);
    expect(existsSync(join(modelsDir, "late.gguf"))).toBe(false);
  });
});

describe("get", () => {
  it("an unknown name is model_not_found, naming it and the registered names, with the add command", async () => {
    const store = await open();
    const err = await inferenceError(() => store.get("nope"));
    expect(err.code).toBe("model_not_found");
    expect(err.httpStatus).toBe(404);
    expect(err.message).toContain('"nope"');
    expect(err.message).toContain(`registered: ${pins.tiny.name}`);
    expect(err.fix).toBe("register it with `ripple models add <file.gguf> --name nope`");
  });
});

describe("add", () => {
  let store: ModelStore;
  let registryBefore: string;
  beforeEach(async () => {
    store = await open();
    registryBefore = readFileSync(registryFile, "utf8");
  });
  /** The error path left models.json, the store and modelsDir as they were. */
  const expectUnchanged = () => {
    expect(readFileSync(registryFile, "utf8")).toBe(registryBefore);
    expect(store.list().map((m) => m.name)).toEqual([pins.tiny.name]);
    expect(readdirSync(modelsDir).sort()).toEqual([pins.tiny.file]);
  };
  const outsideCopy = (name: string) => {
    const file = join(root, name);
    copyFileSync(tinySource, file);
    return file;
  };

  it("hard-links a file from outside modelsDir, names it after the file, lowercased", async () => {
    const source = outsideCopy("Tiny-Copy.GGUF");
    const entry = await store.add(source);
    expect(entry).toEqual({ name: "tiny-copy", file: join(modelsDir, "Tiny-Copy.GGUF"), sha256: tinySha, bytes: statSync(source).size });
    expect(statSync(entry.file).ino).toBe(statSync(source).ino);
    expect(statSync(source).nlink).toBe(2);
    expect(store.get("tiny-copy")).toEqual(entry);
    // Adding it again is a no-op; under another name it shares the link.
    expect(await store.add(source)).toEqual(entry);
    expect((await store.add(source, { name: "alias" })).file).toBe(entry.file);
    expect(statSync(source).nlink).toBe(2);
  });

  it("registers a file inside modelsDir where it is, checking an expected sha256 (any case)", async () => {
    const inside = join(modelsDir, "sub", "x.gguf");
    mkdirSync(join(modelsDir, "sub"));
    copyFileSync(tinySource, inside);
    const entry = await store.add(inside, { name: "x", sha256: tinySha.toUpperCase() });
    expect(entry.file).toBe(inside);
    expect(statSync(inside).nlink).toBe(1);
  });

  it("serializes concurrent adds", async () => {
    const [a, b] = await Promise.all([store.add(outsideCopy("a.gguf")), store.add(outsideCopy("b.gguf"))]);
    expect([a.name, b.name]).toEqual(["a", "b"]);
    expect((await open()).list().map((m) => m.name)).toEqual(["a", "b", pins.tiny.name]);
  });

  const shm = "/dev/shm";
  const otherFs = existsSync(shm) && statSync(shm).dev !== statSync(tmpdir()).dev;
  it.skipIf(!otherFs)("copies a file from another file system", async () => {
    const dir = mkdtempSync(join(shm, "model-store-"));
    try {
      const source = join(dir, "far.gguf");
      copyFileSync(tinySource, source);
      const entry = await store.add(source);
      expect(entry.file).toBe(join(modelsDir, "far.gguf"));
      expect(statSync(entry.file).ino).not.toBe(statSync(source).ino);
      expect(sha256Of(entry.file)).toBe(tinySha);
      expect(readdirSync(modelsDir).filter((f) => f.endsWith(".partial"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("logs hashing progress every 10 % for a big file", async () => {
    const big = join(root, "big.gguf");
    writeFileSync(big, "GGUF");
    truncateSync(big, 70 * 2 ** 20); // sparse
    await store.add(big);
    const percents = logs.lines.filter((l) => l.msg.startsWith("hashing big.gguf")).map((l) => l.percent as number);
    expect(percents.length).toBeGreaterThanOrEqual(9);
    expect(percents.length).toBeLessThanOrEqual(11);
    expect(percents.at(-1)).toBe(100);
    expect([...percents].sort((x, y) => x - y)).toEqual(percents);
  });

  it("refuses a missing file, a directory and a file that is not GGUF", async () => {
    const missing = await inferenceError(() => store.add(join(root, "missing.gguf")));
    expect(missing.code).toBe("bad_request");
    expect(missing.message).toMatch(/missing\.gguf does not exist/);
    expect((await inferenceError(() => store.add(root))).message).toMatch(/is not a file/);
    const text = join(root, "notes.gguf");
    writeFileSync(text, "hello, not a model");
    const notGguf = await inferenceError(() => store.add(text));
    expect(notGguf.message).toMatch(/notes\.gguf is not a GGUF file/);
    expect(notGguf.fix).toMatch(/GGUF format/);
    expectUnchanged();
  });

  it("refuses invalid names, given or taken from the file name", async () => {
    const source = outsideCopy("My Model.gguf");
    const fromFile = await inferenceError(() => store.add(source));
    expect(fromFile.message).toMatch(/"my model" is not a valid model name \(taken from the file name/);
    expect(fromFile.fix).toMatch(/--name/);
    for (const name of ["Upper", "", "a/b", "x".repeat(65)]) {
      expect((await inferenceError(() => store.add(source, { name }))).message).toContain("is not a valid model name");
    }
    expectUnchanged();
  });

  it("refuses a malformed or different expected sha256, showing both; the new link is removed", async () => {
    const source = outsideCopy("t.gguf");
    expect((await inferenceError(() => store.add(source, { sha256: "abc" }))).message).toMatch(/not 64 hex digits/);
    const wrong = "0".repeat(64);
    const err = await inferenceError(() => store.add(source, { sha256: wrong }));
    expect(err.message).toContain(`has sha256 ${tinySha}, but ${wrong} was expected`);
    expectUnchanged();
  });

  it("refuses a name registered with another sha256, telling to rm it first", async () => {
    const other = outsideCopy("other.gguf");
    const fd = openSync(other, "r+");
    writeSync(fd, Buffer.from([0x42]), 0, 1, 2000);
    closeSync(fd);
    const err = await inferenceError(() => store.add(other, { name: pins.tiny.name }));
    expect(err.message).toContain(`"${pins.tiny.name}" is already registered with sha256 ${tinySha}`);
    expect(err.fix).toContain(`ripple models rm ${pins.tiny.name}`);
    expect(store.get(pins.tiny.name).sha256).toBe(tinySha);
    expectUnchanged();
  });

  it("refuses when modelsDir already has another file of that name", async () => {
    const source = outsideCopy(pins.tiny.file); // same name, another inode
    const err = await inferenceError(() => store.add(source, { name: "clash" }));
    expect(err.message).toContain(`${join(modelsDir, pins.tiny.file)} already exists`);
    expectUnchanged();
  });
});

describe("the node's models directory, recorded in its data dir for the CLI", () => {
  it("is undefined before a start, the last recorded one after, and a damaged record is named, then replaced", () => {
    const dir = mkdtempSync(join(tmpdir(), "rm-models-dir-"));
    expect(nodeModelsDir(dir)).toBeUndefined();
    recordModelsDir(dir, "/srv/models");
    expect(nodeModelsDir(dir)).toBe("/srv/models");
    recordModelsDir(dir, "/big/disk/models");
    expect(nodeModelsDir(dir)).toBe("/big/disk/models");
    writeFileSync(join(dir, "models-dir.json"), JSON.stringify({ schema: 1, modelsDir: "relative/models" }));
    expect(() => nodeModelsDir(dir)).toThrow(ModelRegistryError);
    expect(() => nodeModelsDir(dir)).toThrow(/models-dir\.json.*modelsDir.*absolute path[\s\S]*rm .*models-dir\.json/);
    // The node's next start writes it again; what it records is never lost to a bad file.
    recordModelsDir(dir, "/srv/models");
    expect(nodeModelsDir(dir)).toBe("/srv/models");
    rmSync(dir, { recursive: true, force: true });
  });
});
