// A small InferenceSource for the API, OpenAI-compatibility and CLI tests: it streams tokens with a
// delay, emits MOE progress events, records every call with its AbortSignal, and can be told to fail
// or to hold a call open until it is aborted.
import { vi } from "vitest";
import { MOE_MODEL_ID, type AskRequest, type AskResult, type InferenceSource, type LocalModel, type MeshModel, type ModelsRescan, type MoeEvent } from "../../src/api/inference-source.ts";
import { InferenceError } from "../../src/inference/inference-errors.ts";
import type { MoeRequest, MoeResult } from "../../src/moe/moe-types.ts";

export interface FakeCall<R> {
  req: R;
  signal: AbortSignal;
}

export interface FakeInferenceOptions {
  /** What ask streams, one piece per token. */
  tokens?: string[];
  tokenDelayMs?: number;
  meshModels?: MeshModel[];
  localModels?: LocalModel[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function fakeInference(opts: FakeInferenceOptions = {}) {
  const tokens = opts.tokens ?? ["Hel", "lo", ", ", "mesh", "!"];
  const delay = opts.tokenDelayMs ?? 5;
  const local: LocalModel[] = opts.localModels ?? [
    { name: "tiny", sha256: "a".repeat(64), bytes: 524_288, file: "/models/ripple-tiny-test.gguf", loaded: false },
    { name: "qwen", sha256: "b".repeat(64), bytes: 491_000_000, file: "/models/qwen.gguf", loaded: true },
  ];
  const state = {
    moeCalls: [] as Array<FakeCall<MoeRequest>>,
    askCalls: [] as Array<FakeCall<AskRequest>>,
    /** Thrown by the next moe/ask, after `failAfterTokens` tokens (0: before any output). */
    failWith: undefined as unknown,
    failAfterTokens: 0,
    /** moe/ask emit their first event/token, then wait until their signal aborts. */
    hold: false,
  };

  const step = async (signal: AbortSignal, emitted: number): Promise<void> => {
    if (state.failWith !== undefined && emitted === state.failAfterTokens) {
      const err = state.failWith;
      state.failWith = undefined;
      throw err;
    }
    if (state.hold && emitted === 1) {
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
    }
    await sleep(delay);
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new InferenceError("cancelled", "aborted", "none");
  };

  const source = {
    state,
    moe: vi.fn(async (req: MoeRequest, o: { signal: AbortSignal; onEvent?: (e: MoeEvent) => void }): Promise<MoeResult> => {
      state.moeCalls.push({ req, signal: o.signal });
      const n = req.experts ?? 3;
      const peers = Array.from({ length: n }, (_, i) => `node-${i}`);
      let emitted = 0;
      await step(o.signal, emitted);
      for (let slot = 0; slot < n; slot++) {
        o.onEvent?.({ type: "moe:assigned", slot, expert: `expert-${slot}`, model: "tiny", peer: peers[slot]!, epoch: 0 });
        emitted++;
        await step(o.signal, emitted);
      }
      for (let slot = 0; slot < n; slot++) {
        o.onEvent?.({ type: "moe:answer", slot, expert: `expert-${slot}`, peer: peers[slot]!, latency_ms: 10 + slot });
        emitted++;
        await step(o.signal, emitted);
      }
      // The last expert disagrees: consensus is (n-1)/n of equal weights.
      const answer = `answer to: ${req.prompt.split("\n").at(-1)}`;
      const votes = peers.map((peer, slot) => ({
        model: "tiny",
        expert: `expert-${slot}`,
        peer,
        response_hash: slot === n - 1 ? "h2" : "h1",
        weight: 1,
        counted_weight: 1,
        peer_id: null,
        latency_ms: 10 + slot,
        agreed: slot !== n - 1 || n === 1,
        slot,
        epoch: 0,
        tokens: 4 + slot,
        prompt_tokens: 20 + slot,
        output: slot === n - 1 && n > 1 ? "something else" : answer,
        // Only the first vote reports a confidence (as a worker asked for it would; the cloud tier never does).
        ...(slot === 0 ? { confidence: 0.87 } : {}),
      }));
      const agreed = votes.filter((v) => v.agreed).length;
      return {
        response: answer,
        consensus_score: agreed / n,
        consensus_reached: agreed / n >= 0.6,
        model_votes: votes,
        trace_id: req.traceId ?? "trace-fake-1",
        task_type: req.taskType ?? "short_answer",
        job: null,
        wall_ms: 42,
        failed_slots: [],
        diversity: "local" as const,
        rejected_answers: [],
        cancelled_slots: [],
        stopped_early: false,
      };
    }),
    ask: vi.fn(async (req: AskRequest, o: { signal: AbortSignal; onToken?: (t: string) => void }): Promise<AskResult> => {
      state.askCalls.push({ req, signal: o.signal });
      // A stop string equal to a token ends the answer before that token, like the engine's stop strings.
      const stopAt = tokens.findIndex((t) => req.stop?.includes(t));
      const limit = Math.min(stopAt < 0 ? tokens.length : stopAt, req.maxTokens ?? Infinity);
      await step(o.signal, 0);
      for (let i = 0; i < limit; i++) {
        o.onToken?.(tokens[i]!);
        await step(o.signal, i + 1);
      }
      const stopped = stopAt >= 0 && limit === stopAt;
      return {
        text: tokens.slice(0, limit).join(""),
        model: req.model,
        peer: "node-0",
        tokens: limit,
        promptTokens: req.messages.reduce((n, m) => n + m.content.length, 0),
        latencyMs: 7,
        finishReason: limit < tokens.length && !stopped ? "length" : "stop",
        ...(stopped ? { stopSequence: tokens[stopAt]! } : {}),
        traceId: "trace-ask-1",
      };
    }),
    meshModels: vi.fn(async (): Promise<MeshModel[]> => opts.meshModels ?? local.map((m) => ({ name: m.name, sha256: m.sha256, sha256Variants: [{ sha256: m.sha256, nodes: 2 }], nodes: 2, local: true }))),
    localModels: vi.fn(async (): Promise<LocalModel[]> => local.map((m) => ({ ...m }))),
    loadModel: vi.fn(async (name: string): Promise<LocalModel> => setLoaded(name, true)),
    unloadModel: vi.fn(async (name: string): Promise<LocalModel> => setLoaded(name, false)),
    // Not a tokenizer: words + 4 per message, enough for the routes' tests (the daemon counts with llama.cpp).
    countTokens: vi.fn(async (req: { model: string; messages: Array<{ content: string }> }) => {
      if (req.model !== MOE_MODEL_ID && !local.some((m) => m.name === req.model)) throw new InferenceError("model_not_found", `model "${req.model}" is not on this node`, "pull it");
      return { inputTokens: req.messages.reduce((n, m) => n + 4 + m.content.split(/\s+/).filter(Boolean).length, 0), model: req.model === MOE_MODEL_ID ? local[0]!.name : req.model };
    }),
    rescanModels: vi.fn(async (): Promise<ModelsRescan> => ({ added: [], removed: [], changed: [], models: local.map((m) => ({ ...m })), advertised: false })),
  } satisfies InferenceSource & { state: unknown };

  function setLoaded(name: string, loaded: boolean): LocalModel {
    const m = local.find((x) => x.name === name);
    if (!m) throw new InferenceError("model_not_found", `model "${name}" is not registered on this node`, "register it with `ripple models add <file.gguf>`");
    m.loaded = loaded;
    return { ...m };
  }

  return source;
}

export type FakeInference = ReturnType<typeof fakeInference>;

/** Polls a synchronous condition every 5 ms (for events inside this process); throws naming `what`. */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}
