// One GGUF model in memory with its contexts, and the generation of one request.
//
// Contexts are reused, not made per request: creating one for the Qwen 0.5B model costs ~16 ms
// (~230 ms the first time) against ~0.1 ms for taking a sequence of a live one. With batching (auto,
// batching.ts) a model has one context (shared-context.ts): a sequence per slot decoded in one batch
// per step in sequence-id order (batch-order.ts; measured on a 2-core CPU, 2 concurrent requests
// 35.8 tok/s against 29.9 on two contexts, 8 requests 84.9 against 29.8), or, with a single slot, 4
// sequences that keep the last 4 prompts. With batching off each request has a context of one
// sequence, a second one created (and then kept) only when requests run at the same time, up to
// `slots` (context-pool.ts). A request without a prompt-reuse scope takes a fresh sequence and
// disposes it at the end, which clears its KV cells; one with a scope may continue a sequence its
// scope's last requests left, reading nothing but the start of its own prompt.
// Rescoring (a requester checking a peer's claimed confidence) runs on a small context of its own
// (rescoring-context.ts) whose sequences keep the prompts they scored, so that the next answer to the
// same prompt, or to one that opens the same way (the same template's system text and few-shot
// examples), evaluates only what differs; a prompt too long for it is scored on a generation context.
import { existsSync } from "node:fs";
import type {
  ChatHistoryItem,
  ChatWrapper,
  Llama,
  LlamaContextSequence,
  LlamaModel,
  Token,
} from "node-llama-cpp";
import type { Logger } from "../log.ts";
import type { BatchOrderStats } from "./batch-order.ts";
import { answerConfidence, continuationConfidence, MAX_SCORED_TOKENS } from "./answer-confidence.ts";
import { InferenceError } from "./inference-errors.ts";
import { ContextPool, RESCORING_SCOPE, type GenerationContexts } from "./context-pool.ts";
import { SharedContext } from "./shared-context.ts";
import { llamaModule } from "./llama-module.ts";
import { RescoringContext } from "./rescoring-context.ts";
import { finishOf, toChatHistory } from "./llama-shapes.ts";
import { missingModelFile, type ContextShape } from "./model-sizing.ts";
import type { FinishReason, GenerateRequest, GenerateResult, RegisteredModel } from "./inference-types.ts";

/** Recent tokens the repeat penalty looks at (llama.cpp's default window). */
const repeatPenaltyWindow = 64;

/** The share of the RAM and VRAM budgets a model was loaded with. */
export interface LoadBudget {
  ramBytes: number;
  gpuLayers: number;
  vramBytes: number;
}

export class LoadedModel {
  /** Requests running on it now. */
  active = 0;
  /** Date.now() of the end of its last request (or of its load). */
  lastUsedMs = Date.now();
  readonly #pool: GenerationContexts;
  #rescoring: Promise<RescoringContext | undefined> | undefined;
  /** Prompt tokens generations found already evaluated (a kept sequence of their scope), and those they evaluated. */
  readonly #generationPromptTokens = { reused: 0, evaluated: 0 };
  /** Prompt tokens rescoring found already evaluated, and those it evaluated. */
  readonly #rescoredPromptTokens = { reused: 0, evaluated: 0 };

  private constructor(
    readonly registered: RegisteredModel,
    /** What the memory budgets count for it: RAM (file + a context per slot), layers and VRAM on the GPU. */
    readonly budget: LoadBudget,
    private readonly model: LlamaModel,
    pool: GenerationContexts,
    private readonly shape: ContextShape,
    private readonly chatWrapper: ChatWrapper,
    private readonly log: Logger,
  ) {
    this.#pool = pool;
  }

  static async load(llama: Llama, registered: RegisteredModel, budget: LoadBudget, shape: ContextShape, log: Logger): Promise<LoadedModel> {
    if (!existsSync(registered.file)) throw missingModelFile(registered);
    let model: LlamaModel | undefined;
    try {
      model = await llama.loadModel({ modelPath: registered.file, gpuLayers: budget.gpuLayers });
      // The first context is made now: the slowest one (~230 ms for Qwen 0.5B), and proof that it fits.
      // With a shared context (batching), it is the only one: a sequence per slot (4 with one slot), each of contextSize.
      const pool = shape.sharedContext
        ? await SharedContext.open(model, shape, registered.name)
        : new ContextPool(model, await model.createContext({ contextSize: shape.contextSize, sequences: 1, threads: shape.threads }), shape, registered.name);
      // The model's own template (ChatML for Qwen and the tiny test model), resolved once per load.
      const chatWrapper = (await llamaModule()).resolveChatWrapper(model);
      return new LoadedModel(registered, budget, model, pool, shape, chatWrapper, log);
    } catch (cause) {
      await model?.dispose().catch(() => {});
      throw new InferenceError("failed", `cannot load model ${registered.name} from ${registered.file}: ${(cause as Error).message}`, "check that the file is a complete GGUF file that llama.cpp supports, and that the machine has the memory for it", { cause });
    }
  }

  /** Contexts made so far (1 after the load, at most `slots`). */
  get contexts(): number {
    return this.#pool.size;
  }

  /** The shared context's batches (batching on), or null. */
  get batchStats(): BatchOrderStats | null {
    return this.#pool.batchStats;
  }

  /** Prompt tokens generations found already evaluated and those they evaluated, since the load. */
  get generationPromptTokens(): { reused: number; evaluated: number } {
    return { ...this.#generationPromptTokens };
  }

  /** Prompt tokens rescoring found already evaluated and those it evaluated, since the load. */
  get rescoredPromptTokens(): { reused: number; evaluated: number } {
    return { ...this.#rescoredPromptTokens };
  }

  /** Estimated RAM bytes, the figure the RAM budget counts. */
  get bytes(): number {
    return this.budget.ramBytes;
  }

  get name(): string {
    return this.registered.name;
  }

  get chatWrapperName(): string {
    return this.chatWrapper.wrapperName;
  }

  /**
   * Runs one request on a fresh sequence, or on one its prompt-reuse scope's last requests left that
   * holds a start of its prompt. `startedAt` (performance.now()) is when the caller asked,
   * so latency and first-token time include the queue and the load. An abort ends the generation after
   * the current token and resolves with finishReason "aborted" and the text generated so far.
   */
  async run(req: GenerateRequest, signal: AbortSignal, startedAt: number): Promise<GenerateResult> {
    const chunks: string[] = [];
    let firstTokenAt: number | null = null;
    let callbackFailed = false;
    const onTextChunk = (text: string) => {
      if (text.length === 0) return;
      firstTokenAt ??= performance.now();
      chunks.push(text);
      try {
        req.onToken?.(text);
      } catch (err) {
        if (!callbackFailed) this.log.warn({ model: this.name, err: (err as Error).message }, "inference: onToken threw; the text is still collected");
        callbackFailed = true;
      }
    };

    const input = this.#renderPrompt(req.prompt);
    const scope = req.promptReuseScope;
    const promptTokens = input.promptTokenList.length;
    // Checked before a sequence is taken, so that a kept one is not lost to a request that cannot run.
    // +2: the token that may complete a UTF-8 character, and llama.cpp's last cell, so that a
    // request never reaches a context shift (which would silently drop the start of the prompt).
    const tokensPerSequence = this.#pool.tokensPerSequence;
    if (promptTokens + req.maxTokens + 2 > tokensPerSequence) {
      throw new InferenceError(
        "over_limit",
        `prompt (${promptTokens} tokens) + maxTokens (${req.maxTokens}) do not fit the ${tokensPerSequence}-token context of model ${this.name}`,
        "shorten the prompt, lower maxTokens, or give the node a larger inference context size",
      );
    }
    const { context, sequence } = await this.#pool.takeForGeneration(input.promptTokenList, scope);
    // A kept sequence's meter counts its earlier generations too.
    const outputTokensBefore = sequence.tokenMeter.usedOutputTokens;
    let finishReason: FinishReason | undefined;
    let stopSequence: string | undefined;
    let confidence: number | undefined;
    /** False once a confidence pass failed midway: the sequence's tokens and cells may then disagree. */
    let intact = true;
    let outputTokens = 0;
    try {
      // What node-llama-cpp will not evaluate again: the kept start of the prompt (all but its last token).
      const reused = sequence.compareContextTokens(input.promptTokenList.slice(0, -1)).firstDifferentIndex;
      ({ finishReason, stopSequence } = await this.#generate(sequence, req, input, signal, onTextChunk));
      this.#generationPromptTokens.reused += reused;
      this.#generationPromptTokens.evaluated += promptTokens - reused;
      // Read before the confidence pass, which evaluates tokens of its own.
      outputTokens = sequence.tokenMeter.usedOutputTokens - outputTokensBefore;
      if (req.confidence && finishReason !== "aborted") ({ confidence, intact } = await this.#confidence(sequence, input.promptTokenList));
    } catch (err) {
      if (err instanceof InferenceError) throw err;
      if (!signal.aborted) {
        throw new InferenceError("failed", `model ${this.name} failed to generate: ${(err as Error).message}`, "retry; if it fails again, unload and reload the model", { cause: err });
      }
      // Aborted during the prompt evaluation, before node-llama-cpp had a response to return.
      finishReason = "aborted";
      outputTokens = sequence.tokenMeter.usedOutputTokens - outputTokensBefore;
    } finally {
      // Kept for the scope's next prompt only after a generation (and confidence pass) that ended as
      // it should: an aborted or failed one may leave the sequence's tokens and cells apart.
      if (scope !== undefined && finishReason !== undefined && finishReason !== "aborted" && intact) this.#pool.release(context, { sequence, scope });
      else {
        try {
          await sequence.dispose();
        } finally {
          this.#pool.release(context);
        }
      }
    }
    const endAt = performance.now();
    return {
      text: chunks.join(""),
      // Tokens the model sampled (the EOG or stop-string tokens included). It can exceed maxTokens by
      // one: when the last allowed token ends inside a UTF-8 character, node-llama-cpp samples one
      // more to complete it rather than return broken text.
      tokens: outputTokens,
      promptTokens,
      latencyMs: endAt - startedAt,
      firstTokenMs: firstTokenAt === null ? null : firstTokenAt - startedAt,
      model: { name: this.registered.name, sha256: this.registered.sha256 },
      finishReason,
      ...(stopSequence !== undefined ? { stopSequence } : {}),
      ...(confidence !== undefined ? { confidence } : {}),
    };
  }

  /**
   * The answer's confidence, or nothing (logged) when it cannot be scored: the answer itself stands.
   * `intact` is false when the pass failed midway (the sequence is then not kept for reuse).
   */
  async #confidence(sequence: LlamaContextSequence, prompt: Token[]): Promise<{ confidence: number | undefined; intact: boolean }> {
    try {
      const confidence = await answerConfidence(sequence, prompt);
      if (confidence === undefined && sequence.contextTokens.length > prompt.length) this.log.warn({ model: this.name, promptTokens: prompt.length }, "inference: the sequence does not start with the prompt; no confidence");
      return { confidence, intact: true };
    } catch (err) {
      this.log.warn({ model: this.name, err: (err as Error).message }, "inference: scoring the answer's confidence failed; no confidence");
      return { confidence: undefined, intact: false };
    }
  }

  /**
   * This model's confidence in `answer` as the reply to `prompt` (answer-confidence.ts): the same
   * score a worker reports for its own answer, computed here to check a peer's claim. The answer is
   * tokenized again from its text; `endedByLength`: like the worker, the last token (never evaluated
   * there) is left out. undefined when it cannot be scored (empty, or over the context).
   * On the model's rescoring context: "too long" when it does not fit there (scoreOnGenerationContext
   * then, holding a generation slot).
   */
  async scoreOnRescoringContext(prompt: GenerateRequest["prompt"], answer: string, endedByLength: boolean): Promise<number | undefined | "too long"> {
    const tokens = this.#scoringTokens(prompt, answer, endedByLength);
    if (!tokens) return undefined;
    const rescoring = await this.#rescoringContext();
    if (!rescoring || tokens.prompt.length + tokens.answer.length + 2 > rescoring.tokensPerSequence) return "too long";
    const sequence = rescoring.take(tokens.prompt.slice(0, -1));
    if (!sequence) return "too long"; // every sequence in use: the caller's lane admits one at a time, so not expected
    let kept: LlamaContextSequence | undefined = sequence;
    try {
      return await this.#scoreOn(sequence, tokens.prompt, tokens.answer);
    } catch (err) {
      kept = undefined;
      await rescoring.replace(sequence); // its state is unknown now
      throw err;
    } finally {
      if (kept) rescoring.release(kept);
    }
  }

  /**
   * scoreOnRescoringContext for a prompt too long for it: on a generation context, keeping the
   * sequence there under rescoring's scope (a context per request, or a shared context of one slot),
   * or disposing it at the end (a shared context of several slots, where no prompt is kept).
   */
  async scoreOnGenerationContext(prompt: GenerateRequest["prompt"], answer: string, endedByLength: boolean): Promise<number | undefined> {
    const tokens = this.#scoringTokens(prompt, answer, endedByLength);
    if (!tokens) return undefined;
    // Checked before a sequence is taken: an empty one kept would take a kept prompt's place.
    if (tokens.prompt.length + tokens.answer.length + 2 > this.#pool.tokensPerSequence) return undefined;
    const { context, sequence } = await this.#pool.takeForRescoring(tokens.prompt.slice(0, -1));
    let onPool: LlamaContextSequence | undefined = sequence;
    try {
      return await this.#scoreOn(sequence, tokens.prompt, tokens.answer);
    } catch (err) {
      // Its state is unknown now: not kept.
      onPool = undefined;
      await sequence.dispose().catch(() => {});
      throw err;
    } finally {
      this.#pool.release(context, onPool && { sequence: onPool, scope: RESCORING_SCOPE });
    }
  }

  /** The prompt's tokens and the answer's scored tokens; undefined when either is empty. */
  #scoringTokens(prompt: GenerateRequest["prompt"], answer: string, endedByLength: boolean): { prompt: Token[]; answer: Token[] } | undefined {
    const promptTokens = this.#renderPrompt(prompt).promptTokenList;
    const all = this.model.tokenize(answer, false);
    const answerTokens = (endedByLength ? all.slice(0, -1) : all).slice(0, MAX_SCORED_TOKENS);
    return promptTokens.length === 0 || answerTokens.length === 0 ? undefined : { prompt: promptTokens, answer: answerTokens };
  }

  /** Scores `answerTokens` after `promptTokens` on `sequence`, evaluating only what it does not hold yet. */
  async #scoreOn(sequence: LlamaContextSequence, promptTokens: Token[], answerTokens: Token[]): Promise<number | undefined> {
    // Everything but the prompt's last token, whose output is the first answer token's distribution.
    const head = promptTokens.slice(0, -1);
    // Keep what the sequence already holds of the head (erased from the first token that differs).
    await sequence.adaptStateToTokens(head, false);
    const reused = sequence.nextTokenIndex;
    if (reused < head.length) await sequence.evaluateWithoutGeneratingNewTokens(head.slice(reused));
    this.#rescoredPromptTokens.reused += reused;
    this.#rescoredPromptTokens.evaluated += promptTokens.length - reused;
    return continuationConfidence(sequence, promptTokens.at(-1)!, answerTokens);
  }

  /**
   * The rescoring context (rescoring-context.ts), made at the first rescoring: a node that never
   * checks a peer's confidence never pays for it. undefined when it cannot be made (the pool is used).
   */
  #rescoringContext(): Promise<RescoringContext | undefined> {
    this.#rescoring ??= RescoringContext.create(this.model, { threads: this.shape.threads }).catch((err: unknown) => {
      this.log.warn({ model: this.name, err: (err as Error).message }, "inference: no rescoring context for this model; rescoring on its generation contexts");
      return undefined;
    });
    return this.#rescoring;
  }

  /** How many tokens the prompt is once rendered as a generation would render it (Anthropic's count_tokens). */
  countPromptTokens(prompt: GenerateRequest["prompt"]): number {
    return this.#renderPrompt(prompt).promptTokenList.length;
  }

  /** `promptTokenList`: the tokens the sequence will hold before the answer (its length is checked against the context; answer-confidence.ts needs the tokens). */
  #renderPrompt(prompt: GenerateRequest["prompt"]): { promptTokenList: Token[]; history?: ChatHistoryItem[]; tokens?: Token[] } {
    if (prompt.kind === "chat") {
      const history = toChatHistory(prompt.messages);
      // The same rendering LlamaChat evaluates; counted here to check the context size first.
      const { contextText } = this.chatWrapper.generateContextState({ chatHistory: history });
      const promptTokenList = contextText.tokenize(this.model.tokenizer);
      return { promptTokenList, history };
    }
    // LlamaCompletion prepends BOS itself (and tokenizes with "trimLeadingSpace" when it does).
    const bos = this.model.tokens.shouldPrependBosToken && this.model.tokens.bos != null;
    const tokens = this.model.tokenize(prompt.text, false, bos ? "trimLeadingSpace" : undefined);
    const promptTokenList = bos ? [this.model.tokens.bos!, ...tokens] : tokens;
    return { promptTokenList, tokens };
  }

  async #generate(
    sequence: LlamaContextSequence,
    req: GenerateRequest,
    input: { history?: ChatHistoryItem[]; tokens?: Token[] },
    signal: AbortSignal,
    onTextChunk: (text: string) => void,
  ): Promise<{ finishReason: FinishReason; stopSequence?: string }> {
    const { temperature, topP, topK, seed, repeatPenalty } = req.sampling;
    const options = {
      maxTokens: req.maxTokens,
      temperature,
      ...(topP !== undefined && { topP }),
      ...(topK !== undefined && { topK }),
      ...(seed !== undefined && { seed }),
      // node-llama-cpp applies a 1.1 repeat penalty unless told not to; the request's value rules.
      repeatPenalty: repeatPenalty === undefined || repeatPenalty === 1 ? (false as const) : { penalty: repeatPenalty, lastTokens: repeatPenaltyWindow },
      ...(req.stop?.length && { customStopTriggers: req.stop }),
      signal,
      stopOnAbortSignal: true,
      onTextChunk,
    };
    if (input.history) {
      const { LlamaChat } = await llamaModule();
      const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: this.chatWrapper });
      try {
        const res = await chat.generateResponse(input.history, options);
        return finishOf(res.metadata, req.stop);
      } finally {
        chat.dispose({ disposeSequence: false });
      }
    }
    const { LlamaCompletion } = await llamaModule();
    const completion = new LlamaCompletion({ contextSequence: sequence });
    try {
      const res = await completion.generateCompletionWithMeta(input.tokens!, { ...options, disableContextShift: true });
      return finishOf(res.metadata, req.stop);
    } finally {
      completion.dispose({ disposeSequence: false });
    }
  }

  async dispose(): Promise<void> {
    await (await this.#rescoring)?.dispose();
    await this.#pool.dispose();
    await this.model.dispose().catch(() => {});
  }
}
