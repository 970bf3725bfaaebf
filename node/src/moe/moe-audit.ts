// The MOE audit trail (inference_policy.yaml `audit`): every expert's response in the log when
// log_all_responses, and jobs where experts disagreed appended to DATA_DIR/audit/disagreements.jsonl
// when store_disagreements, each line carrying the trace id.
import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.ts";
import type { InferencePolicy } from "../config/inference-policy.ts";
import type { MoeResult } from "./moe-types.ts";

export class MoeAudit {
  constructor(
    private readonly dataDir: string,
    private readonly policy: InferencePolicy["audit"],
    private readonly log: Logger,
  ) {}

  get disagreementsFile(): string {
    return join(this.dataDir, "audit", "disagreements.jsonl");
  }

  async record(prompt: string, result: MoeResult): Promise<void> {
    const trace = this.policy.trace_id_propagation ? result.trace_id : undefined;
    if (this.policy.log_all_responses) {
      for (const v of result.model_votes) this.log.info({ trace, job: result.job, slot: v.slot, expert: v.expert, peer: v.peer, agreed: v.agreed, output: v.output.slice(0, 2000) }, "expert response");
    }
    this.log.info({ trace, job: result.job, consensus: result.consensus_score, reached: result.consensus_reached, ms: result.wall_ms }, "MOE job done");
    const disagreeing = result.model_votes.filter((v) => !v.agreed);
    if (!this.policy.store_disagreements || disagreeing.length === 0) return;
    await mkdir(join(this.dataDir, "audit"), { recursive: true });
    const line = { at: new Date().toISOString(), trace_id: result.trace_id, job: result.job, prompt: prompt.slice(0, 4096), response: result.response, consensus_score: result.consensus_score, votes: result.model_votes };
    await appendFile(this.disagreementsFile, JSON.stringify(line) + "\n", { mode: 0o600 });
  }
}
