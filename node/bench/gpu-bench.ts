// `npm run bench:gpu`: inference on this machine's GPU, through the engine and bare node-llama-cpp
// side by side on the same backend and model. On a machine without a GPU it says so and exits 0.
//
// Per model (default: the pinned Qwen 0.5B; `RIPPLE_GPU_BENCH_MODELS=a.gguf,b.gguf` for others, e.g.
// the random-weight 0.5B- and 7B-shape models ../shared/gpu-kit generates on a GPU machine):
// - decode tok/s of 128 greedy tokens: the engine ÷ bare node-llama-cpp (target ≥ 0.95);
// - prompt tok/s of a 512-token prompt (bare);
// - aggregate tok/s of 8 requests at once: through the engine (8 slots) with its slots batched in one
//   context and with a context each (`batching: on | off`; auto picks by backend, batching.ts), and
//   bare as one context of 8 sequences against 8 one-sequence contexts;
// - what limits the 8 slots: one decode step's cost with 1, 2, 4 and 8 sequences in one batch (the
//   transformer body alone, and with each sequence's greedy pick) against the 8-slot tok/s above;
// - bare decode with flash attention forced on and forced off (a 7B-class model's bandwidth share);
// - the share of the memory-bandwidth ceiling: decode tok/s × bytes read per token (≈ the weights)
//   ÷ the card's bandwidth (`RIPPLE_GPU_BANDWIDTH_GBPS`, else a table of known cards).
// Each figure is the median of RIPPLE_GPU_BENCH_RUNS (default 3) after a warm-up. RIPPLE_GPU_BENCH_ON_CPU=1
// runs it all on the CPU (to check the script before a GPU run); RIPPLE_GPU_BENCH_BACKEND picks one.
import { statSync } from "node:fs";
import { basename, join } from "node:path";
import { pino } from "pino";
import { LlamaCompletion, type LlamaModel } from "node-llama-cpp";
import { modelsDir, versionsFile } from "../src/config/paths.mjs";
import { loadVersions } from "../src/config/toolchain.ts";
import { resolveBatching } from "../src/inference/batching.ts";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import type { RegisteredModel } from "../src/inference/inference-types.ts";
import { openLlama, type BackendChoice } from "../src/inference/llama-backend.ts";

const log = pino({ level: process.env.RIPPLE_LOG_LEVEL ?? "warn" });
const runs = Number(process.env.RIPPLE_GPU_BENCH_RUNS ?? 3);
const decodeTokens = 128;
const slots = 8;
const contextSize = 2048;
const threads = Number(process.env.RIPPLE_GPU_BENCH_THREADS ?? 4);

/** Memory bandwidth (GB/s) of cards by a part of their name. */
const knownBandwidthGbps: Array<[RegExp, number]> = [
  [/H200/i, 4800],
  [/H100.*(SXM|HBM3)/i, 3350],
  [/H100/i, 2000],
  [/A100.*80/i, 2039],
  [/A100/i, 1555],
  [/L40S?/i, 864],
  [/RTX 4090/i, 1008],
  [/RTX 3090/i, 936],
  [/RTX 4080/i, 717],
];

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

function benchModels(): RegisteredModel[] {
  const paths = process.env.RIPPLE_GPU_BENCH_MODELS?.split(",").filter(Boolean);
  if (paths?.length) return paths.map((file) => ({ name: basename(file, ".gguf"), file, sha256: "", bytes: statSync(file).size }));
  const pinned = loadVersions(versionsFile).models.default;
  return [{ name: pinned.name, file: join(modelsDir(), pinned.file), sha256: pinned.sha256, bytes: pinned.bytes! }];
}

function bandwidthGbps(choice: BackendChoice): number | null {
  const fromEnv = Number(process.env.RIPPLE_GPU_BANDWIDTH_GBPS);
  if (fromEnv > 0) return fromEnv;
  const name = choice.gpu?.devices.join(" ") ?? "";
  return knownBandwidthGbps.find(([re]) => re.test(name))?.[1] ?? null;
}

/** A prompt of about `n` tokens for this model. */
function promptOf(model: LlamaModel, n: number): string {
  let text = "";
  while (model.tokenize(text).length < n) text += "The quick brown fox jumps over the lazy dog while the cat sleeps. ";
  return model.detokenize(model.tokenize(text).slice(0, n));
}

/** Bare node-llama-cpp: decode tok/s (first token to last) and prompt tok/s, on one sequence. */
async function bareSingle(model: LlamaModel, prompt: string, decodeSteps = decodeTokens): Promise<{ decode: number; prompt: number }> {
  const context = await model.createContext({ contextSize, sequences: 1, threads });
  try {
    const sequence = context.getSequence();
    const tokens = model.tokenize(prompt);
    const t0 = performance.now();
    let first = 0;
    let n = 0;
    for await (const _ of sequence.evaluate(tokens, { temperature: 0 })) {
      if (n === 0) first = performance.now();
      if (++n > decodeSteps) break;
    }
    const end = performance.now();
    return { decode: (n - 1) / ((end - first) / 1000), prompt: tokens.length / ((first - t0) / 1000) };
  } finally {
    await context.dispose();
  }
}

/**
 * What one decode step costs the backend with 1, 2, 4 and 8 sequences in one batch, to tell a backend
 * whose batched matmul is slow from a slow JS side: per step, each sequence feeds one token, all
 * queued in the same tick so that node-llama-cpp decodes them as one batch. `bodyMs`: no output
 * row (the transformer body only); `pickMs`: with each sequence's logits and a greedy pick (the LM
 * head, the logits read back and llama.cpp's sampler). On a GPU a batch of 8 should cost little
 * more than 1 (decode is bound by reading the weights); the 8-slot tok/s above, against 8 ÷ pickMs,
 * then says what the JS side and the scheduling of sequences cost.
 */
async function bareBatchScaling(model: LlamaModel, prompt: string, flashAttention?: boolean): Promise<Record<string, number>> {
  const steps = 32;
  const context = await model.createContext({ contextSize: 512 * slots, sequences: slots, threads, flashAttention });
  const figures: Record<string, number> = {};
  try {
    for (const n of [1, 2, 4, 8]) {
      const sequences = Array.from({ length: n }, () => context.getSequence());
      try {
        const head = model.tokenize(prompt);
        await Promise.all(sequences.map((s) => s.evaluateWithoutGeneratingNewTokens(head)));
        const token = head[head.length - 1]!;
        let t0 = performance.now();
        for (let i = 0; i < steps; i++) await Promise.all(sequences.map((s) => s.evaluateWithoutGeneratingNewTokens([token])));
        figures[`body ms ×${n}`] = round((performance.now() - t0) / steps, 2);
        t0 = performance.now();
        for (let i = 0; i < steps; i++) {
          await Promise.all(sequences.map((s) => s.controlledEvaluate([[token, { generateNext: { token: true, options: { temperature: 0 } } }]])));
        }
        figures[`pick ms ×${n}`] = round((performance.now() - t0) / steps, 2);
      } finally {
        for (const s of sequences) await s.dispose();
      }
    }
  } finally {
    await context.dispose();
  }
  return figures;
}

/** Bare decode tok/s of one sequence with flash attention forced on or off (null: the backend refused it). */
async function bareFlashAttention(model: LlamaModel, prompt: string, on: boolean): Promise<number | null> {
  try {
    const context = await model.createContext({ contextSize, sequences: 1, threads, flashAttention: on });
    try {
      const sequence = context.getSequence();
      const tokens = model.tokenize(prompt);
      let first = 0;
      let n = 0;
      for await (const _ of sequence.evaluate(tokens, { temperature: 0 })) {
        if (n === 0) first = performance.now();
        if (++n > decodeTokens) break;
      }
      return (n - 1) / ((performance.now() - first) / 1000);
    } finally {
      await context.dispose();
    }
  } catch (error) {
    log.warn({ error: String(error), on }, "flash attention setting refused");
    return null;
  }
}

/** Bare node-llama-cpp, `slots` requests decoding together: one context of N sequences, or N contexts. */
async function bareAggregate(model: LlamaModel, prompt: string, shared: boolean): Promise<number> {
  const contexts = shared
    ? [await model.createContext({ contextSize: contextSize * slots, sequences: slots, threads })]
    : await Promise.all(Array.from({ length: slots }, () => model.createContext({ contextSize, sequences: 1, threads })));
  try {
    const sequences = Array.from({ length: slots }, (_, i) => contexts[shared ? 0 : i]!.getSequence());
    const t0 = performance.now();
    const counts = await Promise.all(
      sequences.map(async (sequence) => {
        const completion = new LlamaCompletion({ contextSequence: sequence });
        let n = 0;
        await completion.generateCompletion(prompt, { maxTokens: decodeTokens, temperature: 0, onToken: (t) => void (n += t.length) });
        return n;
      }),
    );
    return counts.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000);
  } finally {
    for (const c of contexts) await c.dispose();
  }
}

/** The engine on its own llama.cpp of the same backend (an engine disposes the llama it is given), batching its slots in one context or not. */
async function engineFigures(requested: BackendChoice["requested"], model: RegisteredModel, prompt: string, batching: "on" | "off"): Promise<{ decode: number; aggregate: number }> {
  const opened = await openLlama(requested, threads, log);
  const engine = await InferenceEngine.create({ resolveModel: () => model, threads, maxConcurrent: slots, memoryBudgetBytes: 512 * 2 ** 30, contextSize, opened, batching, log });
  const ask = () => engine.generate({ model: model.name, prompt: { kind: "completion", text: prompt }, maxTokens: decodeTokens, sampling: { temperature: 0 } });
  try {
    await ask(); // warm-up (and the load)
    const decode: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await ask();
      if (r.firstTokenMs === null || r.tokens < 2) throw new Error(`the engine generated ${r.tokens} tokens on ${model.name}`);
      decode.push((r.tokens - 1) / ((r.latencyMs - r.firstTokenMs) / 1000));
    }
    const t0 = performance.now();
    const all = await Promise.all(Array.from({ length: slots }, ask));
    const aggregate = all.reduce((sum, r) => sum + r.tokens, 0) / ((performance.now() - t0) / 1000);
    return { decode: median(decode), aggregate };
  } finally {
    await engine.dispose().catch(() => {});
  }
}

async function main(): Promise<void> {
  const opened = await openLlama((process.env.RIPPLE_GPU_BENCH_BACKEND as "auto") ?? "auto", threads, log);
  const { choice } = opened;
  // RIPPLE_GPU_BENCH_ON_CPU=1 runs the same measurements on the CPU: a check of this script before a GPU run.
  if (!choice.gpu && process.env.RIPPLE_GPU_BENCH_ON_CPU !== "1") {
    console.log(`gpu-bench: no GPU: ${choice.reason}. Nothing to measure on this machine (the CPU path is in \`npm run bench\`).`);
    await opened.llama.dispose();
    return;
  }
  const bandwidth = bandwidthGbps(choice);
  const gpu = choice.gpu ?? { devices: ["none (CPU check run)"], vramTotalBytes: 0, vramFreeBytes: 0 };
  console.log(`gpu-bench: backend ${choice.backend} on ${gpu.devices.join(" + ")}, VRAM ${round(gpu.vramTotalBytes / 2 ** 30)} GiB (${round(gpu.vramFreeBytes / 2 ** 30)} free), bandwidth ${bandwidth ?? "unknown"} GB/s, ${runs} runs, ${threads} CPU threads`);
  const rows: Array<Record<string, number | string | null>> = [];
  for (const model of benchModels()) {
    const bare = await opened.llama.loadModel({ modelPath: model.file, gpuLayers: "max" });
    let prompt512: string, shortPrompt: string;
    const single: Array<{ decode: number; prompt: number }> = [];
    const promptRuns: number[] = [];
    let sharedAgg: number, perSlotAgg: number;
    let scaling: Record<string, number>;
    let flashOn: number | null, flashOff: number | null;
    try {
      prompt512 = promptOf(bare, 512);
      shortPrompt = promptOf(bare, 16);
      await bareSingle(bare, shortPrompt); // warm-up
      for (let i = 0; i < runs; i++) single.push(await bareSingle(bare, shortPrompt));
      for (let i = 0; i < runs; i++) promptRuns.push((await bareSingle(bare, prompt512, 2)).prompt);
      sharedAgg = await bareAggregate(bare, shortPrompt, true);
      perSlotAgg = await bareAggregate(bare, shortPrompt, false);
      scaling = await bareBatchScaling(bare, shortPrompt);
      flashOn = await bareFlashAttention(bare, shortPrompt, true);
      flashOff = await bareFlashAttention(bare, shortPrompt, false);
    } finally {
      await bare.dispose();
    }
    const bareDecode = median(single.map((s) => s.decode));
    const promptTps = median(promptRuns);
    const batched = await engineFigures(choice.requested, model, shortPrompt, "on");
    const perRequest = await engineFigures(choice.requested, model, shortPrompt, "off");
    // What `batching: auto` serves with on this backend (batching.ts): the figures the targets are read on.
    const engine = resolveBatching("auto", slots).mode === "shared-context" ? batched : perRequest;
    const ceiling = bandwidth ? (bandwidth * 1e9) / model.bytes : null;
    const row = {
      model: model.name,
      "file MiB": round(model.bytes / 2 ** 20, 0),
      "bare decode tok/s": round(bareDecode),
      "engine decode tok/s": round(engine.decode),
      "engine ÷ bare": round(engine.decode / bareDecode, 2),
      "prompt tok/s (512)": round(promptTps, 0),
      [`engine ${slots} slots tok/s`]: round(engine.aggregate),
      [`engine ${slots} slots ÷ 1`]: round(engine.aggregate / engine.decode, 2),
      [`engine ${slots} slots, one batch tok/s`]: round(batched.aggregate),
      [`engine ${slots} slots, a context each tok/s`]: round(perRequest.aggregate),
      "engine decode tok/s, one batch": round(batched.decode),
      // A lone request on a context of several sequences measured 13-16% slower than on a context of
      // one on a 2-thread CPU (batching.ts): this pair says what it costs on this backend.
      "engine decode tok/s, a context each": round(perRequest.decode),
      [`bare 1 ctx × ${slots} seq tok/s`]: round(sharedAgg),
      [`bare ${slots} ctx tok/s`]: round(perSlotAgg),
      "bare decode tok/s, flash attention on": flashOn === null ? null : round(flashOn),
      "bare decode tok/s, flash attention off": flashOff === null ? null : round(flashOff),
      ...scaling,
      "batch of 8 step ÷ 1 (pick)": round(scaling[`pick ms ×8`]! / scaling[`pick ms ×1`]!, 2),
      [`bare ${slots} seq tok/s at the pick steps' pace`]: round((slots * 1000) / scaling[`pick ms ×${slots}`]!),
      "bandwidth ceiling tok/s": ceiling ? round(ceiling, 0) : null,
      "share of ceiling": ceiling ? `${round((engine.decode / ceiling) * 100, 0)}%` : "unknown bandwidth",
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  console.table(rows);
  await opened.llama.dispose();
}

await main();
