// `npx tsx node/bench/inference-bench.ts`: decode speed of InferenceEngine.generate against bare
// node-llama-cpp on the pinned Qwen GGUF, with the same threads (1 and 2), the same prompt and the
// same 64 greedy tokens. Runs alternate (engine, bare, bare, engine, ...) so that drift in the load
// of the shared machine hits both sides alike. Decode tok/s = (tokens - 1) / time from the first
// token to the last, so model load and prompt evaluation are excluded on both sides.
// Also prints what a context per request would cost against a sequence of the engine's live context.
//
// Env: RIPPLE_BENCH_RUNS (pairs per thread count, default 6), RIPPLE_BENCH_THREADS (default "1,2").
import { join } from "node:path";
import { pino } from "pino";
import { getLlama, LlamaLogLevel, type LlamaModel } from "node-llama-cpp";
import { modelsDir, versionsFile } from "../setup/paths.mjs";
import { loadVersions } from "../src/config/toolchain.ts";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import type { RegisteredModel } from "../src/inference/inference-types.ts";

const runs = Number(process.env.RIPPLE_BENCH_RUNS ?? 6);
const threadCounts = (process.env.RIPPLE_BENCH_THREADS ?? "1,2").split(",").map(Number);
const tokens = 64;
const contextSize = 2048;
const prompt = "The quick brown fox jumps over the lazy dog. Once upon a time";

const pinned = loadVersions(versionsFile).models.default;
const qwen: RegisteredModel = { name: pinned.name, file: join(modelsDir(), pinned.file), sha256: pinned.sha256, bytes: pinned.bytes };

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function engineRun(engine: InferenceEngine): Promise<number> {
  const r = await engine.generate({ model: qwen.name, prompt: { kind: "completion", text: prompt }, maxTokens: tokens, sampling: { temperature: 0 } });
  if (r.tokens !== tokens || r.firstTokenMs === null) throw new Error(`engine generated ${r.tokens} tokens (${r.finishReason}), expected ${tokens}`);
  return (r.tokens - 1) / ((r.latencyMs - r.firstTokenMs) / 1000);
}

/** Bare node-llama-cpp: a fresh context, sequence.evaluate, greedy, the same prompt tokens. */
async function bareRun(model: LlamaModel, threads: number): Promise<number> {
  const context = await model.createContext({ contextSize, sequences: 1, threads });
  try {
    const sequence = context.getSequence();
    const input = model.tokenize(prompt);
    let generated = 0;
    let firstAt = 0;
    let lastAt = 0;
    for await (const _token of sequence.evaluate(input, { temperature: 0 })) {
      lastAt = performance.now();
      if (++generated === 1) firstAt = lastAt;
      if (generated === tokens) break;
    }
    if (generated !== tokens) throw new Error(`bare run generated ${generated} tokens, expected ${tokens}`);
    return (generated - 1) / ((lastAt - firstAt) / 1000);
  } finally {
    await context.dispose();
  }
}

/** ms to create + dispose a context of the engine's shape, against taking + disposing a sequence of a live one. */
async function contextCost(model: LlamaModel, threads: number, sequences: number): Promise<{ perRequestContextMs: number; reusedSequenceMs: number }> {
  const create: number[] = [];
  const reuse: number[] = [];
  const live = await model.createContext({ contextSize, sequences, threads });
  try {
    for (let i = 0; i < 5; i++) {
      let t = performance.now();
      const ctx = await model.createContext({ contextSize, sequences, threads });
      await ctx.dispose();
      create.push(performance.now() - t);
      t = performance.now();
      const seq = live.getSequence();
      await seq.dispose();
      reuse.push(performance.now() - t);
    }
  } finally {
    await live.dispose();
  }
  return { perRequestContextMs: median(create), reusedSequenceMs: median(reuse) };
}

interface Row {
  threads: number;
  engine: number[];
  bare: number[];
  cost: { perRequestContextMs: number; reusedSequenceMs: number };
}

async function benchThreads(threads: number): Promise<Row> {
  const log = pino({ level: "silent" });
  const engine = await InferenceEngine.create({ resolveModel: () => qwen, threads, memoryBudgetBytes: 4 * 2 ** 30, maxConcurrent: 2, contextSize, log });
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error, progressLogs: false });
  try {
    await engine.load(qwen.name);
    const model = await llama.loadModel({ modelPath: qwen.file });
    try {
      // One warm-up each (page cache, first-context allocations), not counted.
      await engineRun(engine);
      await bareRun(model, threads);
      const row: Row = { threads, engine: [], bare: [], cost: await contextCost(model, threads, 2) };
      for (let i = 0; i < runs; i++) {
        const order = i % 2 === 0 ? (["engine", "bare"] as const) : (["bare", "engine"] as const);
        for (const side of order) {
          if (side === "engine") row.engine.push(await engineRun(engine));
          else row.bare.push(await bareRun(model, threads));
        }
        console.log(`threads ${threads} run ${i + 1}/${runs}: engine ${row.engine.at(-1)!.toFixed(2)} tok/s, bare ${row.bare.at(-1)!.toFixed(2)} tok/s`);
      }
      return row;
    } finally {
      await model.dispose();
    }
  } finally {
    await engine.dispose();
    await llama.dispose();
  }
}

const rows: Row[] = [];
for (const threads of threadCounts) rows.push(await benchThreads(threads));

const f = (n: number, w = 8) => n.toFixed(2).padStart(w);
console.log(`\n== inference engine vs bare node-llama-cpp: ${qwen.name}, ${tokens} greedy tokens, median of ${runs} alternating runs ==`);
console.log(`${"threads".padEnd(8)}${"engine tok/s".padStart(14)}${"bare tok/s".padStart(12)}${"ratio".padStart(8)}  ${"engine min..max".padStart(16)}  ${"bare min..max".padStart(16)}  ctx/request ms  reused seq ms`);
for (const r of rows) {
  const e = median(r.engine);
  const b = median(r.bare);
  const range = (v: number[]) => `${Math.min(...v).toFixed(1)}..${Math.max(...v).toFixed(1)}`.padStart(16);
  console.log(`${String(r.threads).padEnd(8)}${f(e, 14)}${f(b, 12)}${f(e / b, 8)}  ${range(r.engine)}  ${range(r.bare)}  ${f(r.cost.perRequestContextMs, 14)}  ${f(r.cost.reusedSequenceMs, 13)}`);
}
console.log("target: ratio >= 0.97");
