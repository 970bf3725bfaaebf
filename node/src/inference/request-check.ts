// Checks a GenerateRequest before it takes a slot: a bad field is an InferenceError "bad_request"
// that names the field, the value and the allowed range (the API validates too, but the engine is
// also called by the job worker and the MOE coordinator, and llama.cpp must never see NaN or -1).
import { InferenceError } from "./inference-errors.ts";
import type { GenerateRequest } from "./inference-types.ts";

export const requestLimits = {
  maxStopStrings: 16,
  maxStopLength: 256,
  maxMessages: 256,
  maxTemperature: 10,
  maxSeed: 2 ** 32 - 1,
} as const;

const roles = new Set(["system", "user", "assistant"]);

function bad(field: string, detail: string, fix: string): never {
  throw new InferenceError("bad_request", `bad inference request: ${field} ${detail}`, fix);
}

export function checkGenerateRequest(req: GenerateRequest): void {
  if (typeof req !== "object" || req === null) bad("request", "is not an object", "pass a GenerateRequest");
  if (typeof req.model !== "string" || req.model.length === 0) bad("model", `is ${JSON.stringify(req.model)}`, "name a registered model");
  checkPrompt(req);
  if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) bad("maxTokens", `is ${req.maxTokens}`, "use a positive integer");
  checkSampling(req);
  if (req.stop !== undefined) {
    if (!Array.isArray(req.stop) || req.stop.length > requestLimits.maxStopStrings)
      bad("stop", `must be an array of at most ${requestLimits.maxStopStrings} strings`, "send fewer stop strings");
    req.stop.forEach((s, i) => {
      if (typeof s !== "string" || s.length === 0 || s.length > requestLimits.maxStopLength)
        bad(`stop[${i}]`, `must be a string of 1..${requestLimits.maxStopLength} characters`, "remove empty or overlong stop strings");
    });
  }
  if (req.onToken !== undefined && typeof req.onToken !== "function") bad("onToken", "is not a function", "pass a function or leave it out");
}

function checkPrompt({ prompt }: GenerateRequest): void {
  if (typeof prompt !== "object" || prompt === null) bad("prompt", "is missing", 'pass {kind: "chat", messages} or {kind: "completion", text}');
  if (prompt.kind === "completion") {
    if (typeof prompt.text !== "string" || prompt.text.length === 0) bad("prompt.text", "is empty", "pass the text to complete");
    return;
  }
  if (prompt.kind !== "chat") bad("prompt.kind", `is ${JSON.stringify((prompt as { kind: unknown }).kind)}`, 'use "chat" or "completion"');
  const { messages } = prompt;
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > requestLimits.maxMessages)
    bad("prompt.messages", `must hold 1..${requestLimits.maxMessages} messages`, "send at least one user message");
  messages.forEach((m, i) => {
    if (typeof m !== "object" || m === null || !roles.has(m.role)) bad(`prompt.messages[${i}].role`, `is ${JSON.stringify(m?.role)}`, 'use "system", "user" or "assistant"');
    if (typeof m.content !== "string") bad(`prompt.messages[${i}].content`, "is not a string", "send the message text as a string");
  });
  if (!messages.some((m) => m.role === "user")) bad("prompt.messages", "has no user message", "add a user message");
}

function checkSampling({ sampling }: GenerateRequest): void {
  if (typeof sampling !== "object" || sampling === null) bad("sampling", "is missing", "pass {temperature: 0} for greedy decoding");
  const { temperature, topP, topK, seed, repeatPenalty } = sampling;
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0 || temperature > requestLimits.maxTemperature)
    bad("sampling.temperature", `is ${temperature}`, `use a number in 0..${requestLimits.maxTemperature} (0 = greedy)`);
  if (topP !== undefined && (typeof topP !== "number" || !(topP > 0 && topP <= 1))) bad("sampling.topP", `is ${topP}`, "use a number in (0, 1]");
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 0)) bad("sampling.topK", `is ${topK}`, "use a non-negative integer (0 = whole vocabulary)");
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > requestLimits.maxSeed))
    bad("sampling.seed", `is ${seed}`, `use an integer in 0..${requestLimits.maxSeed}`);
  if (repeatPenalty !== undefined && (typeof repeatPenalty !== "number" || !Number.isFinite(repeatPenalty) || repeatPenalty <= 0))
    bad("sampling.repeatPenalty", `is ${repeatPenalty}`, "use a positive number (1 = no penalty)");
}
