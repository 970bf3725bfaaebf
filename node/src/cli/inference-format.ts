// Human-readable output of `ripple moe`, `ripple ask` and `ripple models` (`--json` prints the data as is).
import type { LocalModel, MoeEvent } from "../api/inference-source.ts";
import type { MoeResult } from "../moe/moe-types.ts";
import { textTable } from "../text-table.ts";

/** One progress line of an MOE job (stderr), or "" for events not worth a line (tokens). */
export function formatMoeEvent(e: MoeEvent): string {
  switch (e.type) {
    case "moe:assigned":
      return `[slot ${e.slot}] ${e.expert} → ${e.model} on ${e.peer}${e.epoch > 0 ? ` (epoch ${e.epoch})` : ""}\n`;
    case "moe:answer":
      return `[slot ${e.slot}] ${e.expert} answered on ${e.peer} in ${e.latency_ms} ms\n`;
    case "moe:reassigned":
      return `[slot ${e.slot}] ${e.expert} moved from ${e.from} to ${e.to} (epoch ${e.epoch}): ${e.reason}\n`;
    default:
      return "";
  }
}

export function formatMoeResult(r: MoeResult): string {
  const lines = [r.response, ""];
  const agreed = r.model_votes.filter((v) => v.agreed).length;
  lines.push(
    `consensus ${r.consensus_score.toFixed(2)} (${r.consensus_reached ? "reached" : "not reached"}): ${agreed} of ${r.model_votes.length} answers agree` +
      ` · task ${r.task_type} · ${r.wall_ms < 1000 ? `${r.wall_ms} ms` : `${(r.wall_ms / 1000).toFixed(1)} s`} · trace ${r.trace_id}`,
  );
  if (r.model_votes.length > 0) {
    const header = ["EXPERT", "MODEL", "PEER", "WEIGHT", "CONFIDENCE", "COUNTED", "LATENCY", "AGREED"];
    const rows = r.model_votes.map((v) => [v.expert, v.model, v.peer, v.weight.toFixed(2), v.confidence === undefined ? "-" : v.confidence.toFixed(2), v.counted_weight.toFixed(2), `${v.latency_ms} ms`, v.agreed ? "✓" : "✗"]);
    lines.push("", textTable([header, ...rows]).trimEnd());
  }
  if (r.diversity === "insufficient") lines.push("diversity insufficient: one peer answered more than a minority of the slots (too few peers serve these experts), so this is not a consensus of independent peers");
  if (r.stopped_early) lines.push(`quorum reached early: ${r.cancelled_slots.map((c) => `slot ${c.slot} (${c.expert} on ${c.peer})`).join(", ")} cancelled`);
  for (const x of r.rejected_answers) lines.push(`slot ${x.slot}: answer from ${x.peer} refused: ${x.reason}`);
  for (const f of r.failed_slots) lines.push(`slot ${f.slot} (${f.expert}) failed: ${f.error}`);
  return lines.join("\n") + "\n";
}

export function formatModels(models: LocalModel[], running: boolean): string {
  if (models.length === 0) return "no model is registered: add one with `ripple models add <file.gguf>`\n";
  const header = ["NAME", "LOADED", "SIZE", "SHA256", "FILE"];
  const rows = models.map((m) => [m.name, running ? (m.loaded ? "yes" : "no") : "-", `${(m.bytes / 1e6).toFixed(1)} MB`, m.sha256.slice(0, 12), m.file]);
  return textTable([header, ...rows]);
}

