// `ripple moe "prompt"`: run an MOE job on the running node's mesh. Progress (assignments, answers)
// goes to stderr as it happens; the merged answer, the consensus and each expert's vote to stdout.
import type { Command } from "commander";
import { LocalApiClient } from "../../api/api-client.ts";
import type { MoeBody } from "../../api/inference-schemas.ts";
import { formatMoeEvent, formatMoeResult } from "../inference-format.ts";
import { fail, globalOptions, printJson, printOut, printErr } from "../run.ts";
import { prompt, quorumMode, wholeNumber } from "./inference-options.ts";
import { calibrateCommand } from "./moe-calibrate.ts";

interface MoeOptions {
  taskType?: string;
  experts?: number;
  maxTokens?: number;
  requireConsensus?: boolean;
  open?: boolean;
  quorum?: "early" | "all";
  json?: boolean;
}

export function moeCommand(program: Command): void {
  const moe = program.command("moe").description("ask the mesh's mixture of experts (`ripple moe \"question\"`), or calibrate its expert weights (`ripple moe calibrate`)");
  calibrateCommand(moe);
  // The default subcommand: `ripple moe "question"` (any first word other than "calibrate").
  moe
    .command("ask", { isDefault: true })
    .description("ask the mesh's mixture of experts: several models answer, the answers are merged by weighted vote")
    .argument("<prompt>", "the question (at most 32 KiB)", prompt)
    .option("--task-type <type>", "a task type of inference_policy.yaml, e.g. short_answer, math, code_generation (default: the policy's)")
    .option("--experts <n>", "how many experts to ask (1 to the policy's local_tier.max_parallel)", wholeNumber(1, 16))
    .option("--max-tokens <n>", "at most this many tokens per expert answer", wholeNumber(1, 2048))
    .option("--require-consensus", "fail unless the experts reach the policy's agreement (default: the policy's)")
    .option("--no-require-consensus", "return the best-weighted answer even below the policy's agreement")
    .option("--open", "post the job open: nodes that can serve a slot claim it (adds the policy's claim window, 5 s by default)")
    .option("--quorum <mode>", "early: stop once the outcome cannot change (short answers) or a majority of the weight agrees (long ones), cancelling the slots still running; all: wait for every slot (default: the policy's)", quorumMode)
    .option("--json", "print the MOE result as JSON for scripts")
    .action(async (text: string, opts: MoeOptions, cmd: Command) => {
      try {
        const client = await LocalApiClient.forDataDir(globalOptions(cmd).dataDir);
        const req: MoeBody = {
          prompt: text,
          ...(opts.taskType !== undefined ? { task_type: opts.taskType } : {}),
          ...(opts.experts !== undefined ? { experts: opts.experts } : {}),
          ...(opts.maxTokens !== undefined ? { max_tokens: opts.maxTokens } : {}),
          ...(opts.requireConsensus !== undefined ? { require_consensus: opts.requireConsensus } : {}),
          ...(opts.open ? { open: true } : {}),
          ...(opts.quorum ? { quorum: opts.quorum } : {}),
        };
        if (opts.json) {
          printJson(await client.moe(req));
          return;
        }
        const result = await client.moe(req, { onEvent: (e) => printErr(formatMoeEvent(e)) });
        printOut(formatMoeResult(result));
      } catch (err) {
        fail(err);
      }
    });
}
