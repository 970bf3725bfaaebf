// The model store on real files, after models are registered: remove, rescan (models.json changed
// by another process), verify and the advert's model refs (the first open, get and add:
// model-store.test.ts).
import { modelRefSchema } from "@ripple-mesh/zome-bindings";
import { copyFileSync, existsSync, openSync, closeSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelRegistryError, modelRefs } from "../src/inference/model-store.ts";
import { inferenceError, modelsDir, open, pins, registryFile, sha256Of, tinySha, tinySource, useModelStoreDirs } from "./support/model-store-fixtures.ts";

useModelStoreDirs();

describe("remove", () => {
  it("unregisters and keeps the file", async () => {
    const store = await open();
    const file = store.get(pins.tiny.name).file;
    const result = await store.remove(pins.tiny.name);
    expect(result).toEqual({ removed: { name: pins.tiny.name, file, sha256: tinySha, bytes: statSync(file).size }, fileKept: file });
    expect(existsSync(file)).toBe(true);
    expect(store.has(pins.tiny.name)).toBe(false);
    expect((await open()).list()).toEqual([]);
    const err = await inferenceError(() => store.remove(pins.tiny.name));
    expect(err.code).toBe("model_not_found");
    expect(err.message).toMatch(/no model is registered/);
  });
});

describe("rescan (models.json changed by another process: `ripple models add|rm` while the node runs)", () => {
  it("says what was added, removed and re-registered to another file, and serves it from then on", async () => {
    const daemonStore = await open();
    const cli = await open();
    expect(await daemonStore.rescan()).toEqual({ added: [], removed: [], changed: [] });
    const second = join(modelsDir, "second.gguf");
    copyFileSync(tinySource, second);
    await cli.add(second, { name: "second" });
    await cli.add(join(modelsDir, pins.tiny.file), { name: "alias" });
    // Not seen until the rescan: the daemon's store reads models.json when told to.
    expect(daemonStore.has("second")).toBe(false);
    expect(await daemonStore.rescan()).toEqual({ added: ["alias", "second"], removed: [], changed: [] });
    expect(daemonStore.get("second").file).toBe(second);
    // "alias" now names another file (same bytes, so the same sha256): changed; the tiny pin removed.
    await cli.remove("alias");
    await cli.add(second, { name: "alias" });
    await cli.remove(pins.tiny.name);
    expect(await daemonStore.rescan()).toEqual({ added: [], removed: [pins.tiny.name], changed: ["alias"] });
    expect(daemonStore.has(pins.tiny.name)).toBe(false);
    expect(await daemonStore.rescan()).toEqual({ added: [], removed: [], changed: [] });
  });

  it("a corrupt models.json is an error and the store keeps serving what it had", async () => {
    const store = await open();
    writeFileSync(registryFile, "{ not json");
    await expect(store.rescan()).rejects.toBeInstanceOf(ModelRegistryError);
    expect(store.has(pins.tiny.name)).toBe(true);
  });
});

describe("verify", () => {
  it("stat only when unchanged; re-hashes on a new mtime and records it", async () => {
    const store = await open();
    const file = store.get(pins.tiny.name).file;
    expect(await store.verify(pins.tiny.name)).toMatchObject({ rehashed: false, model: { sha256: tinySha } });
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(await store.verify(pins.tiny.name)).toMatchObject({ rehashed: true, model: { sha256: tinySha } });
    expect((await (await open()).verify(pins.tiny.name)).rehashed).toBe(false);
    expect((await store.verify(pins.tiny.name, { rehash: true })).rehashed).toBe(true);
  });

  it("a changed file is an error showing both sha256s, and the entry stays", async () => {
    const store = await open();
    const file = store.get(pins.tiny.name).file;
    const fd = openSync(file, "r+");
    writeSync(fd, Buffer.from([0x13]), 0, 1, 3000);
    closeSync(fd);
    const err = await inferenceError(() => store.verify(pins.tiny.name));
    expect(err.message).toMatch(/changed since it was registered/);
    expect(err.message).toContain(`sha256 now ${sha256Of(file)}, registered ${tinySha}`);
    expect(store.get(pins.tiny.name).sha256).toBe(tinySha);
  });

  it("a deleted file is an error; unknown names are model_not_found", async () => {
    const store = await open();
    rmSync(store.get(pins.tiny.name).file);
    expect((await inferenceError(() => store.verify(pins.tiny.name))).message).toMatch(/is gone/);
    expect((await inferenceError(() => store.verify("nope"))).code).toBe("model_not_found");
  });
});

describe("modelRefs", () => {
  it("lists every registered model by name and sha256 in the advert's shape", async () => {
    const store = await open();
    await store.add(join(modelsDir, pins.tiny.file), { name: "second" });
    const refs = modelRefs(store);
    expect(refs).toEqual([
      { name: pins.tiny.name, sha256: tinySha, cid: null },
      { name: "second", sha256: tinySha, cid: null },
    ]);
    for (const ref of refs) expect(modelRefSchema.safeParse(ref).success).toBe(true);
  });
});
