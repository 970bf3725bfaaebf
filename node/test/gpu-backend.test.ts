// The GPU half of inference without a GPU (this machine and CI have none):
// - the VRAM budget (gpu-budget.ts) over node-llama-cpp's own figures for the pinned Qwen and Gemma
//   files: which models go to the GPU, partial offload, eviction order, the card's free VRAM as a cap;
// - the backend choice: `gpu: auto`, `off` and a named backend all serve on the CPU here, with the
//   reason and the fix; a bad `gpu` value is a manifest error naming file, key and allowed values;
//   `npm run bench:gpu` says "no GPU" and exits 0;
// - the `auto` budgets resolved from the machine.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelsDir, repoRoot, versionsFile } from "../src/config/paths.mjs";
import { loadVersions } from "../src/config/toolchain.ts";
import { autoGpuBudgetBytes, planGpuLoad, vramForLayers, type GpuModelNeed, type GpuResident } from "../src/inference/gpu-budget.ts";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import type { RegisteredModel } from "../src/inference/inference-types.ts";
import { openBackend, openLlama, type OpenedLlama } from "../src/inference/llama-backend.ts";
import { LazyLlama } from "../src/inference/lazy-llama.ts";
import { runStartProbe } from "../src/capability/start-probe.ts";
import { estimateGpuNeed, estimateResidentBytes, insightsOf } from "../src/inference/model-sizing.ts";
import { autoMaxConcurrent, autoMemoryBudgetBytes, resolveBudgets } from "../src/inference/machine-budgets.ts";
import { defaultComputePolicyFile, loadComputePolicy } from "../src/config/compute-policy.ts";

const silent = pino({ level: "silent" });
const MIB = 2 ** 20;
const GIB = 2 ** 30;
const versions = loadVersions(versionsFile);
const registered = (key: "default" | "gemma"): RegisteredModel => {
  const m = versions.models[key]!;
  return { name: m.name, file: join(modelsDir(), m.file), sha256: m.sha256, bytes: m.bytes! };
};

let cpu: OpenedLlama;
let qwen: GpuModelNeed;
let gemma: GpuModelNeed;

beforeAll(async () => {
  cpu = await openLlama("off", 1, silent);
  // node-llama-cpp computes these from the GGUF's tensors: the same figures on a machine without a GPU.
  const shape = { contextSize: 2048, slots: 2, sharedContext: false };
  const need = async (m: RegisteredModel) => estimateGpuNeed(await insightsOf(cpu.llama, m), m, shape);
  [qwen, gemma] = await Promise.all([need(registered("default")), need(registered("gemma"))]);
}, 60_000);
afterAll(async () => {
  await cpu?.llama.dispose();
});

const resident = (need: GpuModelNeed, lastUsedMs: number, busy = false): GpuResident => ({ name: need.name, vramBytes: need.fullVramBytes, lastUsedMs, busy });

describe("the VRAM budget over node-llama-cpp's figures", () => {
  it("reads layers and a full-offload VRAM figure from the real GGUF files", () => {
    expect(qwen.totalLayers).toBe(25); // 24 blocks + the output layer
    expect(gemma.totalLayers).toBe(19);
    // Weights dominate: Qwen 0.5B Q4_K_M is a 491 MB file, and 2 contexts of 2048 tokens add their KV.
    expect(qwen.fullVramBytes).toBeGreaterThan(300 * MIB);
    expect(qwen.fullVramBytes).toBeLessThan(1.5 * GIB);
    expect(gemma.fullVramBytes).toBeLessThan(qwen.fullVramBytes);
    console.log(`[gpu-budget] qwen ${qwen.totalLayers} layers ${Math.round(qwen.fullVramBytes / MIB)} MiB; gemma ${gemma.totalLayers} layers ${Math.round(gemma.fullVramBytes / MIB)} MiB`);
  });

  it("counts one shared context's buffers once: 8 slots batched need far less memory than 8 contexts", async () => {
    // On this llama.cpp without a GPU the context estimates are all RAM (their VRAM figure is 0);
    // the VRAM estimate sums the same contexts (model-sizing.ts contextsEstimate).
    const m = registered("default");
    const insights = await insightsOf(cpu.llama, m);
    const need = (slots: number, sharedContext: boolean) => estimateResidentBytes(insights, m, { contextSize: 2048, slots, sharedContext });
    const [one, perSlot, shared] = await Promise.all([need(1, false), need(8, false), need(8, true)]);
    expect(shared).toBeGreaterThan(one); // 8 sequences' KV cells
    expect(shared - one).toBeLessThan((perSlot - one) / 3);
    console.log(`[gpu-budget] qwen, 8 slots of 2048 tokens: ${Math.round(perSlot / MIB)} MiB as 8 contexts, ${Math.round(shared / MIB)} MiB as one shared context (1 slot: ${Math.round(one / MIB)} MiB)`);
  });

  it("puts a whole model on the GPU when the budget and the card have room", () => {
    const plan = planGpuLoad({ need: qwen, budgetBytes: 8 * GIB, cardFreeBytes: 8 * GIB, resident: [resident(gemma, 1)], maxLayers: "auto" });
    expect(plan).toMatchObject({ gpuLayers: qwen.totalLayers, vramBytes: qwen.fullVramBytes, evict: [] });
  });

  it("unloads idle models least recently used first, and only as many as needed", () => {
    const other = { ...gemma, name: "gemma-b" };
    const budget = qwen.fullVramBytes + gemma.fullVramBytes + 10 * MIB; // room for qwen once one gemma goes
    const plan = planGpuLoad({ need: qwen, budgetBytes: budget, cardFreeBytes: 80 * GIB, resident: [resident(gemma, 200), resident(other, 100)], maxLayers: "auto" });
    expect(plan.evict).toEqual(["gemma-b"]);
    expect(plan.gpuLayers).toBe(qwen.totalLayers);
  });

  it("never unloads a busy model: the new one is partially offloaded into what is left", () => {
    const budget = gemma.fullVramBytes + Math.floor(qwen.fullVramBytes / 2);
    const plan = planGpuLoad({ need: qwen, budgetBytes: budget, cardFreeBytes: 80 * GIB, resident: [resident(gemma, 1, true)], maxLayers: "auto" });
    expect(plan.evict).toEqual([]);
    expect(plan.gpuLayers).toBeGreaterThan(0);
    expect(plan.gpuLayers).toBeLessThan(qwen.totalLayers);
    expect(plan.vramBytes).toBeLessThanOrEqual(budget - gemma.fullVramBytes);
    // The most layers that fit: one more would not.
    expect(vramForLayers(qwen, plan.gpuLayers + 1)).toBeGreaterThan(budget - gemma.fullVramBytes);
    expect(plan.reason).toMatch(/layers fit .*the rest run on the CPU/);
  });

  it("a model bigger than the whole budget takes all of it, after every idle model is unloaded", () => {
    const budget = Math.floor(qwen.fullVramBytes * 0.6);
    const small = { ...gemma, fullVramBytes: 50 * MIB };
    const plan = planGpuLoad({ need: qwen, budgetBytes: budget, cardFreeBytes: 80 * GIB, resident: [resident(small, 5)], maxLayers: "auto" });
    expect(plan.evict).toEqual([small.name]);
    expect(plan.gpuLayers).toBe(Math.floor(budget / (qwen.fullVramBytes / qwen.totalLayers)));
  });

  it("never asks for more than the card has free, whatever the budget says", () => {
    const cardFree = Math.floor(qwen.fullVramBytes / 3);
    const plan = planGpuLoad({ need: qwen, budgetBytes: 100 * GIB, cardFreeBytes: cardFree, resident: [], maxLayers: "auto" });
    expect(plan.vramBytes).toBeLessThanOrEqual(cardFree);
    expect(plan.gpuLayers).toBeGreaterThan(0);
  });

  it("gpu_layers caps the layers; 0 keeps the model on the CPU; nothing fitting evicts nothing", () => {
    expect(planGpuLoad({ need: qwen, budgetBytes: 8 * GIB, cardFreeBytes: 8 * GIB, resident: [], maxLayers: 10 })).toMatchObject({ gpuLayers: 10, vramBytes: vramForLayers(qwen, 10) });
    expect(planGpuLoad({ need: qwen, budgetBytes: 8 * GIB, cardFreeBytes: 8 * GIB, resident: [resident(gemma, 1)], maxLayers: 0 })).toMatchObject({ gpuLayers: 0, evict: [] });
    const tiny = planGpuLoad({ need: qwen, budgetBytes: 1 * MIB, cardFreeBytes: 8 * GIB, resident: [], maxLayers: "auto" });
    expect(tiny).toMatchObject({ gpuLayers: 0, vramBytes: 0, evict: [] });
    expect(tiny.reason).toMatch(/no layer fits/);
  });

  it("auto budgets: VRAM less 10% (at least 512 MiB), RAM less max(1.5 GiB, 15%), slots from VRAM", () => {
    expect(autoGpuBudgetBytes(80 * GIB)).toBe(72 * GIB);
    expect(autoGpuBudgetBytes(2 * GIB)).toBe(1.5 * GIB);
    expect(autoGpuBudgetBytes(100 * MIB)).toBe(0);
    expect(autoMemoryBudgetBytes(100 * GIB)).toBe(85 * GIB);
    expect(autoMemoryBudgetBytes(4 * GIB)).toBe(2.5 * GIB);
    expect(autoMemoryBudgetBytes(1 * GIB)).toBe(512 * MIB);
    const gpu = { ...cpu.choice, backend: "vulkan" as const, gpu: { devices: ["H200"], vramTotalBytes: 140 * GIB, vramFreeBytes: 139 * GIB } };
    expect(autoMaxConcurrent(cpu.choice, 0)).toBe(1);
    expect(autoMaxConcurrent(gpu, 120 * GIB)).toBe(8);
    expect(autoMaxConcurrent(gpu, 5 * GIB)).toBe(2);
    expect(autoMaxConcurrent(gpu, 1 * GIB)).toBe(1);
  });
});

describe("the backend choice on a machine without a GPU", () => {
  it("auto and a named backend fall back to the CPU with the reason and the fix; off says it was asked", async () => {
    expect(cpu.choice).toEqual({ backend: "cpu", requested: "off", reason: "inference.gpu is off in the compute policy", fix: null, gpu: null });
    for (const requested of ["auto", "cuda"] as const) {
      const opened = await openLlama(requested, 1, silent);
      try {
        expect(opened.llama.gpu).toBe(false);
        expect(opened.choice).toMatchObject({ backend: "cpu", requested, gpu: null });
        expect(opened.choice.reason).toMatch(requested === "auto" ? /no GPU driver was found/ : /inference\.gpu is cuda, but no cuda driver/);
        expect(opened.choice.fix).toMatch(/install the GPU's driver/);
      } finally {
        await opened.llama.dispose();
      }
    }
  }, 120_000);

  it("an engine on the CPU backend loads every layer on the CPU, serves, and describes itself", async () => {
    const policy = loadComputePolicy(defaultComputePolicyFile).inference;
    const budgets = await resolveBudgets(policy, cpu.choice);
    expect(budgets.maxConcurrent).toBe(1);
    expect(budgets.gpuMemoryBudgetBytes).toBe(0);
    const engine = await InferenceEngine.create({ resolveModel: () => registered("gemma"), threads: 1, maxConcurrent: 1, memoryBudgetBytes: budgets.memoryBudgetBytes, opened: await openLlama("off", 1, silent), log: silent });
    try {
      const r = await engine.generate({ model: "gemma", prompt: { kind: "completion", text: "1, 2, 3," }, maxTokens: 4, sampling: { temperature: 0 } });
      expect(r.tokens).toBeGreaterThan(0);
      expect(engine.loaded()[0]).toMatchObject({ gpuLayers: 0, vramBytes: 0 });
      expect(engine.describe()).toMatchObject({ backend: "cpu", requested: "off", threads: 1, maxConcurrent: 1, gpuMemoryBudgetBytes: 0 });
    } finally {
      await engine.dispose();
    }
  }, 120_000);
});

describe("llama.cpp opened only when a model first loads (issue #22)", () => {
  it("an engine given the probe's choice opens its backend once, on the first load, shared by concurrent first requests", async () => {
    let opens = 0;
    const opener = new LazyLlama(cpu.choice, () => (opens++, openBackend("cpu", 1)));
    const engine = await InferenceEngine.create({ resolveModel: () => registered("gemma"), threads: 1, maxConcurrent: 2, memoryBudgetBytes: 4 * GIB, opened: opener, log: silent });
    try {
      expect(engine.llamaOpened).toBe(false);
      expect(engine.describe()).toMatchObject({ backend: "cpu", requested: "off" });
      expect(opens).toBe(0);
      const ask = () => engine.generate({ model: "gemma", prompt: { kind: "completion", text: "1, 2, 3," }, maxTokens: 2, sampling: { temperature: 0 } });
      const [a, b] = await Promise.all([ask(), ask()]);
      expect(a.tokens + b.tokens).toBeGreaterThan(0);
      expect(engine.llamaOpened).toBe(true);
      expect(opens).toBe(1);
    } finally {
      await engine.dispose();
    }
  }, 120_000);

  it("a failed open is an error of the load, and the next load tries again", async () => {
    let opens = 0;
    const opener = new LazyLlama(cpu.choice, () => (++opens === 1 ? Promise.reject(new Error("driver went away")) : openBackend("cpu", 1)));
    const engine = await InferenceEngine.create({ resolveModel: () => registered("gemma"), threads: 1, maxConcurrent: 1, memoryBudgetBytes: 4 * GIB, opened: opener, log: silent });
    try {
      await expect(engine.load("gemma")).rejects.toThrow(/driver went away/);
      await engine.load("gemma");
      expect(engine.loaded().map((m) => m.name)).toEqual([registered("gemma").name]);
      expect(opens).toBe(2);
    } finally {
      await engine.dispose();
    }
  }, 120_000);
});

describe("the start-up probe in a child process", () => {
  /** runStartProbe with `script` standing in for `ripple probe-machine`. */
  const probeWith = (script: string, opts: Partial<Parameters<typeof runStartProbe>[0]> = {}) => {
    const dir = mkdtempSync("/tmp/rm-probe-");
    const rippleBin = join(dir, "child.mjs");
    writeFileSync(rippleBin, script);
    return runStartProbe({ dataDir: dir, gpu: "auto", threads: 1, measureTokens: 0, log: silent, rippleBin, ...opts });
  };

  it("answers with the backend chosen for the policy and the machine's facts, measured on that backend", async () => {
    const r = await runStartProbe({ dataDir: mkdtempSync("/tmp/rm-probe-"), gpu: "auto", threads: 1, measureTokens: 4, log: silent });
    expect(r.choice).toMatchObject({ backend: "cpu", requested: "auto", gpu: null });
    expect(r.choice.reason).toMatch(/no GPU driver was found/);
    expect(r.facts.llamaGpu).toBe(false);
    expect(r.facts.tokensPerSecond?.tokens).toBe(4);
    expect(r.facts.tokensPerSecond!.tokensPerSecond).toBeGreaterThan(0);
    expect(r.facts.hardwareClass).not.toBe("");
  }, 180_000);

  it("a probe that crashes leaves the node on the CPU, saying why, with the machine probed without llama.cpp", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const crash = 'process.stderr.write(JSON.stringify({ level: 50, msg: "segfault in the driver" }) + "\\n"); process.kill(process.pid, "SIGSEGV");\n';
    const r = await probeWith(crash, { gpu: "cuda", measureTokens: 4, log });
    expect(r.choice).toMatchObject({ backend: "cpu", requested: "cuda", gpu: null, reason: "the start-up probe failed (it was killed by SIGSEGV)" });
    expect(r.choice.fix).toMatch(/inference\.gpu: off/);
    expect(r.facts.tokensPerSecond).toBeNull();
    expect(r.facts.cpu.logicalCores).toBeGreaterThan(0);
    // The child's own log line is relayed into the node's log, marked as the probe's.
    expect(lines.find((l) => l.msg === "segfault in the driver")).toMatchObject({ level: 50, from: "probe" });
  }, 60_000);

  it("an answer that is not what the probe prints is refused the same way", async () => {
    const r = await probeWith('process.stdout.write(JSON.stringify({ choice: { backend: "tpu" }, facts: {} }) + "\\n");\n');
    expect(r.choice.backend).toBe("cpu");
    expect(r.choice.reason).toBe("the start-up probe failed (its answer was not readable)");
  }, 60_000);

  it("a probe that fails says why in the reason (its last error line)", async () => {
    const r = await probeWith('process.stderr.write("ripple: error: --gpu must be one of auto, cuda\\n"); process.exit(2);\n');
    expect(r.choice.reason).toBe("the start-up probe failed (it exited with code 2: ripple: error: --gpu must be one of auto, cuda)");
  }, 60_000);

  it("an answer among other output is taken as soon as it is printed, even if the child then hangs", async () => {
    const real = await runStartProbe({ dataDir: mkdtempSync("/tmp/rm-probe-"), gpu: "off", threads: 1, measureTokens: 0, log: silent });
    const answer = JSON.stringify({ ...real, facts: { ...real.facts, hardwareClass: "from-the-slow-child" } });
    const t0 = performance.now();
    const r = await probeWith(`console.log("a driver's banner"); console.log(${JSON.stringify(answer)}); setInterval(() => {}, 1000);\n`, { gpu: "off", timeoutMs: 20_000 });
    expect(r.facts.hardwareClass).toBe("from-the-slow-child");
    expect(r.choice).toMatchObject({ backend: "cpu", requested: "off" });
    expect(performance.now() - t0).toBeLessThan(10_000);
  }, 60_000);
});

describe("npm run bench:gpu", () => {
  it("says there is no GPU here, and why, and exits 0", () => {
    const r = spawnSync("npm", ["run", "--silent", "bench:gpu"], { cwd: repoRoot, encoding: "utf8", timeout: 240_000, env: { ...process.env, RIPPLE_LOG_LEVEL: "error" } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gpu-bench: no GPU: no GPU driver was found/);
  }, 300_000);
});

describe("the compute policy's GPU keys", () => {
  const tmp = mkdtempSync("/tmp/rm-gpu-policy-");
  const withInference = (line: string) => {
    const file = join(tmp, `${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, readFileSync(defaultComputePolicyFile, "utf8").replace(/^  gpu: auto$/m, line));
    return file;
  };

  it("ships auto everywhere, and accepts off and a layer count", () => {
    const shipped = loadComputePolicy(defaultComputePolicyFile).inference;
    expect(shipped).toMatchObject({ gpu: "auto", gpu_layers: "auto", gpu_memory_budget_gb: "auto", memory_budget_gb: "auto", max_concurrent: "auto", batching: "auto" });
    expect(loadComputePolicy(withInference("  gpu: off\n  # layers")).inference.gpu).toBe("off");
  });

  it("names the file, the key and the allowed values of a bad batching value", () => {
    const file = withInference("  gpu: auto");
    writeFileSync(file, readFileSync(file, "utf8").replace(/^  batching: auto$/m, "  batching: always"));
    expect(() => loadComputePolicy(file)).toThrow(new RegExp(`${file.replace(/[.]/g, "\\.")}.*inference\\.batching.*auto, on, off`, "s"));
  });

  it("names the file, the key and the allowed values of a bad gpu value", () => {
    const file = withInference("  gpu: nvidia");
    expect(() => loadComputePolicy(file)).toThrow(new RegExp(`${file.replace(/[.]/g, "\\.")}.*inference\\.gpu.*auto, cuda, vulkan, metal, off`, "s"));
  });
});
