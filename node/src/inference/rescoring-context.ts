// A model's context for rescoring only (a requester checking the confidence its peers claim): a few
// small sequences, each keeping the last prompt it scored. An MOE job's experts each render the
// question in their own template, and the next job renders the next question in the same ones, so
// with a sequence per template a rescoring evaluates only the question and the answer, not the
// template's system text and few-shot examples again. The generation contexts could keep one such
// prompt at most, and lose it to the next generation. What these KV cells hold is this node's own
// prompts and peers' answers, read by nothing but another rescoring.
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";

/** Sequences kept: the shipped policy's experts use three templates; one more for a second model's prompts or a changed policy. */
export const RESCORING_SEQUENCES = 4;
/** Tokens per sequence: prompt + scored answer (the shipped experts' prompts are 45–110 tokens). */
export const RESCORING_TOKENS_PER_SEQUENCE = 256;

export interface RescoringShape {
  threads: number;
}

export class RescoringContext {
  readonly #idle: LlamaContextSequence[];
  /** Use order of idle sequences: the least recently used is taken when no prompt matches. */
  readonly #lastUsed = new Map<LlamaContextSequence, number>();
  #clock = 0;

  private constructor(private readonly context: LlamaContext) {
    this.#idle = Array.from({ length: RESCORING_SEQUENCES }, () => context.getSequence());
  }

  static async create(model: LlamaModel, shape: RescoringShape): Promise<RescoringContext> {
    // contextSize is per sequence: node-llama-cpp makes the context contextSize × sequences.
    const context = await model.createContext({ contextSize: RESCORING_TOKENS_PER_SEQUENCE, sequences: RESCORING_SEQUENCES, threads: shape.threads });
    return new RescoringContext(context);
  }

  /** Tokens one rescoring may hold (prompt + scored answer + 2). */
  get tokensPerSequence(): number {
    return this.context.contextSize;
  }

  /**
   * The idle sequence that holds the longest start of `head`, when that is at least half of it (the
   * same template: its system text and examples); else the least recently used one, so that one
   * template's prompt does not overwrite another's for the little they share (a turn marker, a
   * common system line). undefined when every sequence is in use. The taker gives it back with
   * release(), or replace() when its state is unknown.
   */
  take(head: readonly Token[]): LlamaContextSequence | undefined {
    if (this.#idle.length === 0) return undefined;
    const shares = this.#idle.map((s) => s.compareContextTokens([...head]).firstDifferentIndex);
    let pick = shares.indexOf(Math.max(...shares));
    if (2 * shares[pick]! < head.length) {
      pick = 0;
      for (let i = 1; i < this.#idle.length; i++) if ((this.#lastUsed.get(this.#idle[i]!) ?? 0) < (this.#lastUsed.get(this.#idle[pick]!) ?? 0)) pick = i;
    }
    return this.#idle.splice(pick, 1)[0];
  }

  release(sequence: LlamaContextSequence): void {
    this.#lastUsed.set(sequence, ++this.#clock);
    this.#idle.push(sequence);
  }

  /** A sequence whose state is unknown: dropped, and a fresh one put in its place. */
  async replace(sequence: LlamaContextSequence): Promise<void> {
    this.#lastUsed.delete(sequence);
    await sequence.dispose().catch(() => {});
    this.#idle.push(this.context.getSequence());
  }

  async dispose(): Promise<void> {
    await this.context.dispose().catch(() => {});
  }
}
