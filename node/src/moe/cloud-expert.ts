// The cloud tier: a remote OpenAI-compatible endpoint asked alongside the local experts
// (POST {url}/chat/completions, key from an environment variable). Off by default.
import type { CloudProvider } from "../config/inference-policy.ts";
import type { ModelVote } from "./moe-types.ts";
import { responseHash } from "../protocol/job-protocol.ts";
import { linkSignals } from "../linked-signal.ts";
import { BodyTooLargeError, readBodyText } from "../http-body.ts";

export type CloudAnswer =
  | { ok: true; vote: Omit<ModelVote, "agreed" | "counted_weight"> }
  | { ok: false; slot: number; expert: string; error: string; timedOut: boolean; fallback: boolean };

/** A remote answer is read up to this size (counted as it arrives); beyond it the provider is treated as failed. */
const MAX_RESPONSE_BYTES = 256 * 1024;

export async function callCloudExpert(
  provider: CloudProvider,
  input: { prompt: string; instruction: string; maxTokens: number; signal: AbortSignal; env: NodeJS.ProcessEnv },
  slot: number,
): Promise<CloudAnswer> {
  const expert = `cloud:${provider.name}`;
  const fail = (error: string, timedOut = false): CloudAnswer => ({ ok: false, slot, expert, error, timedOut, fallback: provider.fallback_on_timeout });
  const key = input.env[provider.api_key_env];
  if (!key) return fail(`environment variable ${provider.api_key_env} is not set (the provider's API key)`);
  const started = performance.now();
  const timeout = AbortSignal.timeout(provider.timeout_ms);
  const link = linkSignals(timeout, input.signal);
  try {
    const res = await fetch(`${provider.url.replace(/\/$/, "")}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({
        model: provider.model,
        messages: [
          { role: "system", content: input.instruction },
          { role: "user", content: input.prompt },
        ],
        max_tokens: input.maxTokens,
        temperature: 0,
      }),
      signal: link.signal,
    });
    const body = await readBodyText(res, MAX_RESPONSE_BYTES);
    if (!res.ok) return fail(`HTTP ${res.status}: ${body.slice(0, 300)}`);
    const json = JSON.parse(body) as { choices?: Array<{ message?: { content?: unknown } }>; usage?: { completion_tokens?: unknown; prompt_tokens?: unknown } };
    const output = json.choices?.[0]?.message?.content;
    if (typeof output !== "string") return fail("the response has no choices[0].message.content");
    const count = (n: unknown) => (typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : 0);
    const tokens = count(json.usage?.completion_tokens);
    const prompt_tokens = count(json.usage?.prompt_tokens);
    const vote = { model: provider.model, expert, peer: `cloud:${provider.name}`, response_hash: responseHash(output), weight: provider.weight, latency_ms: Math.round(performance.now() - started), slot, epoch: 1, tokens, prompt_tokens, output, peer_id: null };
    return { ok: true, vote };
  } catch (err) {
    if (err instanceof BodyTooLargeError) return fail(err.message);
    if (timeout.aborted) return fail(`no answer within ${provider.timeout_ms} ms`, true);
    input.signal.throwIfAborted();
    return fail((err as Error).message);
  } finally {
    link.dispose();
  }
}
