// The capability probe on this machine (2 cores, ~24 GiB, no GPU), the tokens/s measurement on the
// tiny test model, the load sampler, and a capability draft built from real probe facts.
import { generateKeyPair } from "@libp2p/crypto/keys";
import { nodeCapabilitySchema } from "@ripple-mesh/zome-bindings";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { modelsDir, versionsFile } from "../src/config/paths.mjs";
import { capabilityDraft } from "../src/capability/capability-draft.ts";
import { loadHardwareClasses } from "../src/capability/hardware-classes.ts";
import { clampPercent, sampleLoad } from "../src/capability/load-sampler.ts";
import { pinnedDefaultModel, probeMachine, type MachineFacts, type ModelFile } from "../src/capability/probe.ts";
import { measureTokensPerSecond, ModelMeasureError } from "../src/capability/tokens-per-second.ts";
import { loadVersions } from "../src/config/toolchain.ts";

const tinyPath = join(modelsDir(), loadVersions(versionsFile).models.tiny.file);
const tiny: ModelFile = { name: "ripple-tiny-test", path: tinyPath, sha256: createHash("sha256").update(readFileSync(tinyPath)).digest("hex") };
const GIB = 2 ** 30;

/** A pino logger whose lines the test can read. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
  return { log: pino({ level: "info" }, stream), lines };
}

describe("probeMachine on this machine", () => {
  let facts: MachineFacts;
  let lines: ReturnType<typeof capturingLogger>["lines"];

  beforeAll(async () => {
    const logger = capturingLogger();
    lines = logger.lines;
    facts = await probeMachine({ threads: 1, log: logger.log, defaultModel: tiny, measureTokens: 32 });
  });

  it("reports the CPUs this process may use", () => {
    expect(facts.cpu.logicalCores).toBe(availableParallelism());
    expect(facts.cpu.physicalCores).toBeGreaterThanOrEqual(1);
    expect(facts.cpu.physicalCores).toBeLessThanOrEqual(facts.cpu.logicalCores);
    expect(facts.cpu.arch).toBe(process.arch);
    expect(facts.cpu.brand.length).toBeGreaterThan(0);
  });

  it("reports RAM within 5% of os.totalmem() and available ≤ total", () => {
    const osGb = totalmem() / GIB;
    expect(Math.abs(facts.memory.totalGb - osGb) / osGb).toBeLessThan(0.05);
    expect(facts.memory.availableGb).toBeGreaterThan(0);
    expect(facts.memory.availableGb).toBeLessThanOrEqual(facts.memory.totalGb);
  });

  it("reports the free space of the models directory's filesystem", () => {
    expect(facts.disk.freeGb).toBeGreaterThan(0);
    expect(facts.disk.freeGb).toBeLessThanOrEqual(facts.disk.totalGb);
    expect(facts.disk.mount === null || facts.disk.path.startsWith(facts.disk.mount)).toBe(true);
  });

  it("finds no GPU (there is none here) and no part failed", () => {
    expect(facts.gpu).toBeNull();
    expect(facts.llamaGpu).toBe(false);
    expect(facts.warnings).toEqual([]);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it("measures decode tokens/s on the tiny model with one thread", () => {
    expect(facts.tokensPerSecond).toMatchObject({ model: "ripple-tiny-test", sha256: tiny.sha256, threads: 1, tokens: 32 });
    expect(facts.tokensPerSecond!.tokensPerSecond).toBeGreaterThan(0);
  });

  it("classifies this 2-core, ~24 GiB, GPU-less machine as cpu-laptop", () => {
    const ids = loadHardwareClasses().classes.map((c) => c.id);
    expect(ids).toContain(facts.hardwareClass);
    // The expectation holds for the CI machine kind; elsewhere only membership is checked.
    const ramGb = totalmem() / GIB;
    if (availableParallelism() >= 2 && availableParallelism() < 8 && ramGb >= 7 && ramGb < 30) expect(facts.hardwareClass).toBe("cpu-laptop");
  });

  it("reports how long it took", () => {
    expect(facts.durationMs).toBeGreaterThan(0);
    expect(facts.durationMs).toBeLessThan(15_000);
  });
});

describe("probeMachine when parts fail", () => {
  it("warns and falls back instead of throwing (missing model, GPU view timed out)", async () => {
    const { log, lines } = capturingLogger();
    const missing = { ...tiny, path: join(tmpdir(), "ripple-no-such-model.gguf") };
    const facts = await probeMachine({ threads: 1, log, defaultModel: missing, measureTokens: 8, timeoutsMs: { llamaGpu: 1 } });
    expect(facts.tokensPerSecond).toBeNull();
    expect(facts.gpu).toBeNull();
    expect(facts.warnings).toHaveLength(2);
    expect(facts.warnings.find((w) => w.startsWith("tokens:"))).toContain(missing.path);
    expect(facts.warnings.find((w) => w.startsWith("llamaGpu:"))).toMatch(/timed out after 1 ms/);
    expect(lines.filter((l) => l.level === 40).map((l) => l.part)).toEqual(expect.arrayContaining(["tokens", "llamaGpu"]));
    // The other parts still ran.
    expect(facts.cpu.logicalCores).toBe(availableParallelism());
    expect(facts.memory.totalGb).toBeGreaterThan(0);
  });

  it("resolves the pinned default model of versions.json under the models directory", () => {
    const m = pinnedDefaultModel("/srv/models");
    const pin = loadVersions(versionsFile).models.default;
    expect(m).toEqual({ name: pin.name, path: join("/srv/models", pin.file), sha256: pin.sha256 });
  });
});

describe("measureTokensPerSecond", () => {
  it("times exactly the requested decode steps", async () => {
    const r = await measureTokensPerSecond({ modelPath: tinyPath, threads: 1, tokens: 16 });
    expect(r.tokens).toBe(16);
    expect(r.threads).toBe(1);
    expect(r.tokensPerSecond).toBeGreaterThan(0);
    expect(r.tokensPerSecond).toBeCloseTo(16 / (r.decodeMs / 1000), 6);
  });

  it("fails with an error naming a missing model file", async () => {
    const path = join(tmpdir(), "ripple-missing", "nope.gguf");
    const err = await measureTokensPerSecond({ modelPath: path, threads: 1 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ModelMeasureError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toContain("does not exist");
  });

  it("fails with an error naming a file that is not a GGUF", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "ripple-gguf-")), "garbage.gguf");
    writeFileSync(path, Buffer.alloc(4096, 7));
    const err = await measureTokensPerSecond({ modelPath: path, threads: 1 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ModelMeasureError);
    expect((err as Error).message).toContain(path);
  });

  it("stops when its signal is aborted", async () => {
    const signal = AbortSignal.abort(new Error("probe cancelled"));
    await expect(measureTokensPerSecond({ modelPath: tinyPath, threads: 1, signal })).rejects.toThrow("probe cancelled");
  });

  it("refuses thread and token counts that make no sense", async () => {
    await expect(measureTokensPerSecond({ modelPath: tinyPath, threads: 0 })).rejects.toThrow(RangeError);
    await expect(measureTokensPerSecond({ modelPath: tinyPath, threads: 1, tokens: 0 })).rejects.toThrow(RangeError);
  });
});

describe("sampleLoad", () => {
  it("returns percentages within 0..100", async () => {
    for (const opts of [{}, { gpu: false }]) {
      const load = await sampleLoad(opts);
      for (const [k, v] of Object.entries(load)) {
        expect(Number.isFinite(v), k).toBe(true);
        expect(v, k).toBeGreaterThanOrEqual(0);
        expect(v, k).toBeLessThanOrEqual(100);
      }
      expect(load.gpu_percent).toBe(0);
      expect(load.memory_percent).toBeGreaterThan(0);
    }
  });

  it("clamps out-of-range and non-finite figures", () => {
    expect([clampPercent(150), clampPercent(-3), clampPercent(Number.NaN), clampPercent(42.26)]).toEqual([100, 0, 0, 42.3]);
  });
});

describe("capabilityDraft from probe facts", () => {
  const agent = new Uint8Array([0x84, 0x20, 0x24, ...new Array<number>(36).fill(7)]);
  const complete = (draft: Awaited<ReturnType<typeof capabilityDraft>>) =>
    nodeCapabilitySchema.safeParse({ ...draft, agent, peer: { ...draft.peer, agent_signature: new Uint8Array(64).fill(1) } });

  let facts: MachineFacts;
  beforeAll(async () => {
    facts = await probeMachine({ threads: 1, log: pino({ level: "silent" }), defaultModel: tiny, measureTokens: 8, gpu: false });
  });

  it("fills compute, storage, memory, tokens/s, class and load from the facts and passes the entry schema", async () => {
    const libp2pKey = await generateKeyPair("Ed25519");
    const load = await sampleLoad({ gpu: false });
    const models = [{ name: tiny.name, sha256: tiny.sha256, cid: null }];
    const draft = await capabilityDraft({ name: "probe-test", agentPubKey: agent, libp2pKey, probe: facts, load, models });
    const parsed = complete(draft);
    expect(parsed.error).toBeUndefined();
    expect(draft.hardware_class).toBe(facts.hardwareClass);
    expect(draft.compute).toEqual({ cpu_cores: availableParallelism(), cpu_arch: process.arch, ram_gb: facts.memory.totalGb, gpu: null });
    expect(draft.storage.local_ssd_gb).toBe(facts.disk.freeGb);
    expect(draft.memory).toEqual({ total_gb: facts.memory.totalGb, available_gb: facts.memory.availableGb });
    expect(draft.inference.tokens_per_second).toBe(facts.tokensPerSecond!.tokensPerSecond);
    expect(draft.inference.models_loaded).toEqual(models);
    expect(draft.load).toEqual(load);
  });

  it("clamps and cuts facts that exceed the entry's limits", async () => {
    const wild: MachineFacts = {
      ...facts,
      cpu: { ...facts.cpu, logicalCores: 10_000, arch: "a".repeat(40) },
      memory: { totalGb: 4, availableGb: 9 },
      disk: { ...facts.disk, freeGb: Number.NaN },
      gpu: { vendor: "V".repeat(40), model: "Ü".repeat(100), vramGb: 1e9, source: "node-llama-cpp" },
      tokensPerSecond: { ...facts.tokensPerSecond!, tokensPerSecond: 5e6 },
      hardwareClass: "c".repeat(40),
    };
    const draft = await capabilityDraft({ name: "wild", agentPubKey: agent, libp2pKey: await generateKeyPair("Ed25519"), probe: wild });
    expect(complete(draft).error).toBeUndefined();
    expect(draft.compute.cpu_cores).toBe(4096);
    expect(draft.memory).toEqual({ total_gb: 4, available_gb: 4 });
    expect(draft.storage.local_ssd_gb).toBe(0);
    expect(draft.compute.gpu).toEqual({ vendor: "V".repeat(32), model: "Ü".repeat(64), vram_gb: 1e7 });
    expect(draft.inference.tokens_per_second).toBe(1e6);
    expect(draft.hardware_class).toHaveLength(32);
  });

  it("turns control characters in probed labels into spaces (agent_registry refuses them in a label)", async () => {
    const odd: MachineFacts = { ...facts, cpu: { ...facts.cpu, arch: "x64\u0000" }, gpu: { vendor: "\u001b[31mNV", model: "H200\tNVL\u009b2J", vramGb: 141, source: "node-llama-cpp" } };
    // 30 two-byte letters, "a" and a four-byte emoji: 65 bytes, cut by whole code points to 61.
    const name = `${"é".repeat(30)}a🚀`;
    const draft = await capabilityDraft({ name, agentPubKey: agent, libp2pKey: await generateKeyPair("Ed25519"), probe: odd });
    expect(complete(draft).error).toBeUndefined();
    expect(draft.agent_name).toBe(`${"é".repeat(30)}a`);
    expect(draft.compute.cpu_arch).toBe("x64");
    expect(draft.compute.gpu).toMatchObject({ vendor: "[31mNV", model: "H200 NVL 2J" });
  });

  it("advertises the backend the engine serves on, with a GPU from the backend when the hardware probe found none", async () => {
    const key = await generateKeyPair("Ed25519");
    const draftWith = (serving: Parameters<typeof capabilityDraft>[0]["serving"], probe = facts) => capabilityDraft({ name: "b", agentPubKey: agent, libp2pKey: key, probe, ...(serving ? { serving } : {}) });
    const cpu = await draftWith(undefined);
    expect(cpu.inference.backend).toBe("cpu");
    const h200 = { devices: ["NVIDIA H200"], vramTotalBytes: 140 * 2 ** 30, vramFreeBytes: 139 * 2 ** 30 };
    const vulkan = await draftWith({ backend: "vulkan", gpu: h200 });
    expect(complete(vulkan).error).toBeUndefined();
    expect(vulkan.inference.backend).toBe("vulkan");
    expect(vulkan.compute.gpu).toEqual({ vendor: "unknown", model: "NVIDIA H200", vram_gb: 140 });
    // The hardware probe's GPU, when it found one, is what is advertised.
    const probed = await draftWith({ backend: "cuda", gpu: h200 }, { ...facts, gpu: { vendor: "NVIDIA", model: "H200 NVL", vramGb: 141, source: "node-llama-cpp" } });
    expect(probed.compute.gpu).toEqual({ vendor: "NVIDIA", model: "H200 NVL", vram_gb: 141 });
    expect(probed.inference.backend).toBe("cuda");
    // A GPU backend with no GPU known at all is not claimed (the zome refuses a GPU backend without compute.gpu).
    expect((await draftWith({ backend: "metal", gpu: null })).inference).toMatchObject({ backend: "cpu" });
    expect(complete({ ...cpu, inference: { ...cpu.inference, backend: "rocm" as "cpu" } }).error).toBeDefined();
    // As the zome: a GPU backend without a compute.gpu is refused before it is sent.
    expect(complete({ ...cpu, inference: { ...cpu.inference, backend: "vulkan" } }).error?.message).toMatch(/inference.backend other than cpu needs a compute.gpu/);
  });

  it("still works without probe facts (Node's os figures)", async () => {
    const draft = await capabilityDraft({ name: "bare", agentPubKey: agent, libp2pKey: await generateKeyPair("Ed25519") });
    expect(complete(draft).error).toBeUndefined();
    expect(draft.hardware_class).toBe("unclassified");
    expect(draft.compute.cpu_cores).toBe(availableParallelism());
    expect(draft.inference.tokens_per_second).toBe(0);
  });
});
