// How sure the model was of its own answer: the geometric mean of the probabilities it gave the
// tokens it generated (the first MAX_SCORED_TOKENS of them: for the short answers a vote compares,
// that is the whole answer; for long ones, its opening). The MOE reducer can weight votes by it
// (reducer.confidence). node-llama-cpp's LlamaChat and LlamaCompletion do not report token
// probabilities, so this is a rescoring pass on the sequence that generated the answer: the
// generated tokens are erased from its KV cache and evaluated again in one batch, asking at each
// position for the logit of the token that came next. It costs one prompt-speed batch of at most
// MAX_SCORED_TOKENS tokens, not a second generation.
import type { LlamaContextSequence, Token } from "node-llama-cpp";

export const MAX_SCORED_TOKENS = 32;

/**
 * Geometric mean probability (0..1] of the first generated tokens, as the model saw them when it
 * generated them (raw softmax, before sampling settings). `prompt`: the tokens the sequence was
 * given; what follows them in the sequence is the answer (all of it but the last sampled token,
 * which is never evaluated). undefined when the sequence does not start with `prompt` or holds no
 * answer token. The sequence is left holding the prompt and the scored tokens; it is not reusable
 * for generation afterwards.
 */
export async function answerConfidence(sequence: LlamaContextSequence, prompt: readonly Token[]): Promise<number | undefined> {
  const context = sequence.contextTokens;
  if (prompt.length < 1 || !startsWith(context, prompt)) return undefined;
  const scored = context.slice(prompt.length, prompt.length + MAX_SCORED_TOKENS);
  if (scored.length === 0) return undefined;
  // Re-evaluate from the prompt's last token: its output is the distribution of the first answer token.
  await sequence.eraseContextTokenRanges([{ start: prompt.length - 1, end: context.length }]);
  return continuationConfidence(sequence, prompt.at(-1)!, scored);
}

/**
 * The geometric mean probability of `scored` following `lastPromptToken`, on a sequence that holds
 * the prompt without that last token (answerConfidence above, or a requester rescoring a peer's
 * answer on a sequence that kept the prompt's opening). Evaluates `lastPromptToken` and all of
 * `scored` but the last, in one batch; the sequence is left holding them.
 */
export async function continuationConfidence(sequence: LlamaContextSequence, lastPromptToken: Token, scored: readonly Token[]): Promise<number | undefined> {
  if (scored.length === 0) return undefined;
  const inputs = [lastPromptToken, ...scored.slice(0, -1)];
  const outputs = await sequence.controlledEvaluate(
    inputs.map((token, i) => [token, { generateNext: { logits: { filter: { tokens: [scored[i]!], includeTop: 1 } }, totalLogitWeight: true } }]),
  );
  let logSum = 0;
  for (const [i, out] of outputs.entries()) {
    const next = out?.next;
    const logit = next?.logits?.get(scored[i]!);
    if (logit === undefined || next?.logits === undefined || next.totalLogitWeight === undefined) return undefined;
    const maxLogit = Math.max(...next.logits.values());
    // softmax(t) = exp(l_t − l_max) ÷ Σ exp(l − l_max)
    logSum += logit - maxLogit - Math.log(next.totalLogitWeight);
  }
  return Math.exp(logSum / scored.length);
}

function startsWith(tokens: readonly Token[], prefix: readonly Token[]): boolean {
  return prefix.length <= tokens.length && prefix.every((t, i) => tokens[i] === t);
}
