// Measured decode speed: load a GGUF on the backend that serves (the CPU unless given a GPU llama), generate a few tokens greedily after a short
// prompt, and time only the decode steps (model load and prompt evaluation excluded), because that
// is what a requester waits for per token. Everything native is disposed before returning.
import { existsSync } from "node:fs";
import type { Llama, LlamaContext, LlamaModel } from "node-llama-cpp";
import { llamaModule } from "../inference/llama-module.ts";
import { RippleError } from "../errors.ts";

export interface TokensPerSecondOptions {
  modelPath: string;
  /** Threads for llama.cpp; pass the cores that are actually free (its default oversubscribes small machines). */
  threads: number;
  /** Decode steps to time (1..1024). */
  tokens?: number;
  signal?: AbortSignal;
  /** llama.cpp already opened on the backend that serves (kept open); default: a CPU one opened and disposed here. */
  llama?: Llama;
}

export interface TokensPerSecondResult {
  modelPath: string;
  threads: number;
  /** Decode steps timed. */
  tokens: number;
  tokensPerSecond: number;
  loadMs: number;
  promptMs: number;
  decodeMs: number;
}

/** The model file cannot be measured (missing, unreadable or not a GGUF llama.cpp loads). */
export class ModelMeasureError extends RippleError {}

const prompt = "The quick brown fox jumps over the lazy dog. Once upon a time";

export async function measureTokensPerSecond({ modelPath, threads, tokens = 32, signal, llama: shared }: TokensPerSecondOptions): Promise<TokensPerSecondResult> {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  if (!Number.isInteger(tokens) || tokens < 1 || tokens > 1024) throw new RangeError(`tokens must be an integer in 1..1024, got ${tokens}`);
  if (!existsSync(modelPath)) throw new ModelMeasureError(`model file ${modelPath} does not exist`, `run \`npm run setup\` to fetch the pinned models, or point the node at an existing GGUF file`);
  signal?.throwIfAborted();

  let llama: Llama | undefined;
  let model: LlamaModel | undefined;
  let context: LlamaContext | undefined;
  try {
    const t0 = performance.now();
    const { getLlama, LlamaLogLevel } = await llamaModule();
    llama = shared ?? (await getLlama({ gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error, progressLogs: false }));
    signal?.throwIfAborted();
    try {
      model = await llama.loadModel({ modelPath, loadSignal: signal });
    } catch (cause) {
      signal?.throwIfAborted();
      throw new ModelMeasureError(`cannot load model file ${modelPath}: ${(cause as Error).message.replace(/\.+$/, "")}`, `check that it is a complete GGUF file (re-run \`npm run setup\` for pinned models)`, { cause });
    }
    const promptTokens = model.tokenize(prompt);
    context = await model.createContext({ threads, contextSize: Math.max(64, promptTokens.length + tokens + 16), sequences: 1, createSignal: signal });
    const sequence = context.getSequence();
    const t1 = performance.now();

    // The first yielded token costs the prompt evaluation; each later one costs exactly one decode step.
    let generated = 0;
    let firstAt = t1;
    for await (const _token of sequence.evaluate(promptTokens, { temperature: 0 })) {
      signal?.throwIfAborted();
      if (generated === 0) firstAt = performance.now();
      if (++generated > tokens) break;
    }
    const end = performance.now();
    const decoded = generated - 1;
    if (decoded < 1) throw new ModelMeasureError(`model ${modelPath} produced no tokens to time`, "use a generative (decoder) model");
    const decodeMs = end - firstAt;
    return {
      modelPath,
      threads,
      tokens: decoded,
      tokensPerSecond: decoded / (Math.max(decodeMs, 1e-3) / 1000),
      loadMs: t1 - t0,
      promptMs: firstAt - t1,
      decodeMs,
    };
  } finally {
    await context?.dispose().catch(() => {});
    await model?.dispose().catch(() => {});
    if (!shared) await llama?.dispose().catch(() => {});
  }
}
