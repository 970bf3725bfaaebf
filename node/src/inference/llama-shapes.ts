// Our request and result shapes in node-llama-cpp's terms and back: a chat as its chat history, and
// its stop reason as our finish reason and matched stop string.
import type { ChatHistoryItem } from "node-llama-cpp";
import type { ChatMessage, FinishReason } from "./inference-types.ts";

function finishReasonOf(stopReason: string): FinishReason {
  if (stopReason === "maxTokens") return "length";
  if (stopReason === "abort") return "aborted";
  return "stop";
}

/** The finish reason, and which of the request's stop strings ended the text (node-llama-cpp names the trigger it matched). */
export function finishOf(metadata: { stopReason: string; customStopTrigger?: ReadonlyArray<unknown> }, stop: string[] | undefined): { finishReason: FinishReason; stopSequence?: string } {
  const finishReason = finishReasonOf(metadata.stopReason);
  if (metadata.stopReason !== "customStopTrigger" || !stop?.length) return { finishReason };
  const matched = (metadata.customStopTrigger ?? []).filter((p): p is string => typeof p === "string").join("");
  const stopSequence = stop.find((s) => s === matched) ?? (stop.length === 1 ? stop[0] : undefined);
  return stopSequence === undefined ? { finishReason } : { finishReason, stopSequence };
}

/** A trailing assistant message is a prefill: the model continues it, and only the continuation is returned. */
export function toChatHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m) =>
    m.role === "system" ? { type: "system", text: m.content } : m.role === "user" ? { type: "user", text: m.content } : { type: "model", response: [m.content] },
  );
  if (history.at(-1)?.type !== "model") history.push({ type: "model", response: [] });
  return history;
}
