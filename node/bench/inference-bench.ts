// `npx tsx node/bench/inference-bench.ts`: decode speed of InferenceEngine.generate against bare
// node-llama-cpp on the pinned Qwen GGUF, with the same threads (1 and 2), the same prompt and the
// same 64 greedy tokens. Runs alternate (engine, bare, bare, engine, ...) so that drift in the load
// of the shared machine hits both sides alike. Decode tok/s = (tokens - 1) / time from the first
// token to the last, so model load and prompt evaluation are excluded on both sides; it is given on
// the wall clock and per CPU-second of this process (which other load on the machine disturbs far less).
//
// Then the two ways to serve 2 requests at once on one model: the engine's (a 1-sequence context per
// slot) against one context of 2 sequences, both with 2 requests decoding together; and the cost of a
// context per request against a sequence of a live context.
//
// Env: RIPPLE_BENCH_RUNS (pairs per thread count, default 6), RIPPLE_BENCH_THREADS (default "1,2").
import { join } from "node:path";
import { pino } from "pino";
import { getLlama, LlamaLogLevel, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import { modelsDir, versionsFile } from "../src/config/paths.mjs";
import { loadVersions } from "../src/config/toolchain.ts";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import type { RegisteredModel } from "../src/inference/inference-types.ts";

const runs = Number(process.env.RIPPLE_BENCH_RUNS ?? 6);
const threadCounts = (process.env.RIPPLE_BENCH_THREADS ?? "1,2").split(",").map(Number);
const tokens = 64;
const contextSize = 2048;
const maxConcurrent = 2;
const prompt = "The quick brown fox jumps over the lazy dog. Once upon a time";

const pinned = loadVersions(versionsFile).models.default;
const qwen: RegisteredModel = { name: pinned.name, file: join(modelsDir(), pinned.file), sha256: pinned.sha256, bytes: pinned.bytes };

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** One timed decode: tokens per wall-clock second, and per CPU-second of this process (user + system). */
interface Speed {
  wall: number;
  cpu: number;
}

/** Marks the first and the last token of a decode, on the wall clock and on the process CPU clock. */
class DecodeClock {
  #count = 0;
  #first = { wall: 0, cpu: 0 };
  #last = { wall: 0, cpu: 0 };
  tick(): void {
    const cpu = process.cpuUsage();
    const now = { wall: performance.now(), cpu: (cpu.user + cpu.system) / 1000 };
    if (this.#count++ === 0) this.#first = now;
    this.#last = now;
  }
  speed(): Speed {
    const decoded = this.#count - 1;
    return { wall: decoded / ((this.#last.wall - this.#first.wall) / 1000), cpu: decoded / ((this.#last.cpu - this.#first.cpu) / 1000) };
  }
}

async function engineRun(engine: InferenceEngine): Promise<Speed> {
  const clock = new DecodeClock();
  let chunks = 0;
  // Chunks are per token here (ASCII text, no stop strings); the result's token count checks it.
  const r = await engine.generate({ model: qwen.name, prompt: { kind: "completion", text: prompt }, maxTokens: tokens, sampling: { temperature: 0 }, onToken: () => (chunks++, clock.tick()) });
  if (r.tokens !== tokens || chunks !== tokens) throw new Error(`engine generated ${r.tokens} tokens in ${chunks} chunks (${r.finishReason}), expected ${tokens}`);
  return clock.speed();
}

/** `tokens` greedy tokens on a fresh sequence of `context`, with sequence.evaluate. */
async function bareDecode(model: LlamaModel, context: LlamaContext): Promise<Speed> {
  const sequence = context.getSequence();
  try {
    const clock = new DecodeClock();
    let generated = 0;
    for await (const _token of sequence.evaluate(model.tokenize(prompt), { temperature: 0 })) {
      clock.tick();
      if (++generated === tokens) break;
    }
    if (generated !== tokens) throw new Error(`bare run generated ${generated} tokens, expected ${tokens}`);
    return clock.speed();
  } finally {
    await sequence.dispose();
  }
}

/** Bare node-llama-cpp: a fresh context, sequence.evaluate, greedy, the same prompt tokens. */
async function bareRun(model: LlamaModel, threads: number): Promise<Speed> {
  const context = await model.createContext({ contextSize, sequences: 1, threads });
  try {
    return await bareDecode(model, context);
  } finally {
    await context.dispose();
  }
}

/** Total wall tok/s of 2 requests decoding at once: on the engine, and on one shared 2-sequence context. */
async function concurrentRun(engine: InferenceEngine, shared: LlamaContext, model: LlamaModel): Promise<{ engine: number; shared: number }> {
  let t = performance.now();
  await Promise.all([engineRun(engine), engineRun(engine)]);
  const engineTotal = (2 * tokens) / ((performance.now() - t) / 1000);
  t = performance.now();
  await Promise.all([bareDecode(model, shared), bareDecode(model, shared)]);
  const sharedTotal = (2 * tokens) / ((performance.now() - t) / 1000);
  return { engine: engineTotal, shared: sharedTotal };
}

/** ms to create + dispose a 1-sequence context, against taking + disposing a sequence of a live one. */
async function contextCost(model: LlamaModel, threads: number): Promise<{ perRequestContextMs: number; reusedSequenceMs: number }> {
  const create: number[] = [];
  const reuse: number[] = [];
  const live = await model.createContext({ contextSize, sequences: 1, threads });
  try {
    for (let i = 0; i < 5; i++) {
      let t = performance.now();
      const ctx = await model.createContext({ contextSize, sequences: 1, threads });
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
  engine: Speed[];
  bare: Speed[];
  concurrent: Array<{ engine: number; shared: number }>;
  cost: { perRequestContextMs: number; reusedSequenceMs: number };
}

async function benchRow(threads: number): Promise<Row> {
  const log = pino({ level: "silent" });
  const engine = await InferenceEngine.create({ resolveModel: () => qwen, threads, memoryBudgetBytes: 4 * 2 ** 30, maxConcurrent, contextSize, log });
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error, progressLogs: false });
  try {
    await engine.load(qwen.name);
    const model = await llama.loadModel({ modelPath: qwen.file });
    try {
      // One warm-up each (page cache, first-context allocations), not counted.
      await engineRun(engine);
      await bareRun(model, threads);
      const row: Row = { threads, engine: [], bare: [], concurrent: [], cost: await contextCost(model, threads) };
      for (let i = 0; i < runs; i++) {
        const order = i % 2 === 0 ? (["engine", "bare"] as const) : (["bare", "engine"] as const);
        for (const side of order) {
          if (side === "engine") row.engine.push(await engineRun(engine));
          else row.bare.push(await bareRun(model, threads));
        }
        const [e, b] = [row.engine.at(-1)!, row.bare.at(-1)!];
        console.log(`threads ${threads} run ${i + 1}/${runs}: engine ${e.wall.toFixed(2)} tok/s (${e.cpu.toFixed(2)} per CPU-s), bare ${b.wall.toFixed(2)} tok/s (${b.cpu.toFixed(2)} per CPU-s)`);
      }
      const shared = await model.createContext({ contextSize, sequences: 2, threads });
      try {
        for (let i = 0; i < 3; i++) row.concurrent.push(await concurrentRun(engine, shared, model));
      } finally {
        await shared.dispose();
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
for (const threads of threadCounts) rows.push(await benchRow(threads));

const f = (n: number, w = 8) => n.toFixed(2).padStart(w);
console.log(`\n== inference engine vs bare node-llama-cpp: ${qwen.name}, ${tokens} greedy tokens, ${runs} alternating runs each ==`);
console.log("wall: decode tok/s on the wall clock (median | best run); cpu: tokens per CPU-second of the process (median).");
console.log(`${"threads".padEnd(8)}${"engine wall".padStart(18)}${"bare wall".padStart(18)}${"ratio".padStart(14)}${"engine cpu".padStart(12)}${"bare cpu".padStart(10)}${"ratio".padStart(8)}`);
for (const r of rows) {
  const pick = (v: Speed[], k: keyof Speed) => v.map((x) => x[k]);
  const [ew, bw] = [pick(r.engine, "wall"), pick(r.bare, "wall")];
  const [ec, bc] = [median(pick(r.engine, "cpu")), median(pick(r.bare, "cpu"))];
  const pair = (a: number, b: number) => `${a.toFixed(2)} | ${b.toFixed(2)}`.padStart(18);
  const ratios = `${(median(ew) / median(bw)).toFixed(2)} | ${(Math.max(...ew) / Math.max(...bw)).toFixed(2)}`.padStart(14);
  console.log(`${String(r.threads).padEnd(8)}${pair(median(ew), Math.max(...ew))}${pair(median(bw), Math.max(...bw))}${ratios}${f(ec, 12)}${f(bc, 10)}${f(ec / bc, 8)}`);
}
console.log("target: engine / bare >= 0.97");
console.log(`\n== 2 requests at once on one model (total wall tok/s, median of 3), and what a context per request would cost ==`);
console.log(`${"threads".padEnd(8)}${"engine (ctx per slot)".padStart(22)}${"one 2-seq context".padStart(19)}${"ctx/request ms".padStart(16)}${"reused seq ms".padStart(15)}`);
for (const r of rows) {
  console.log(`${String(r.threads).padEnd(8)}${f(median(r.concurrent.map((c) => c.engine)), 22)}${f(median(r.concurrent.map((c) => c.shared)), 19)}${f(r.cost.perRequestContextMs, 16)}${f(r.cost.reusedSequenceMs, 15)}`);
}
