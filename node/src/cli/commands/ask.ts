// `ripple ask --model M "prompt"`: ask one model of the mesh (this node or a peer that serves it);
// the answer streams to stdout as it is generated, the run's figures go to stderr.
import type { Command } from "commander";
import { LocalApiClient } from "../../api/api-client.ts";
import type { AskBodyInput } from "../../api/inference-schemas.ts";
import { fail, globalOptions, printJson, printOut, printErr } from "../run.ts";
import { decimal, prompt, wholeNumber } from "./inference-options.ts";

interface AskOptions {
  model: string;
  maxTokens?: number;
  temperature?: number;
  seed?: number;
  peer?: string;
  json?: boolean;
}

export function askCommand(program: Command): void {
  program
    .command("ask")
    .description("ask one model of the mesh; the answer streams in as it is generated")
    .argument("<prompt>", "the question (at most 32 KiB)", prompt)
    .requiredOption("--model <name>", "a model some node of the mesh serves (`ripple models list` shows this node's)")
    .option("--max-tokens <n>", "at most this many tokens", wholeNumber(1, 2048))
    .option("--temperature <t>", "0 (greedy, the default) to 2", decimal(0, 2))
    .option("--seed <n>", "fixes the sampler's randomness (repeatable answers with temperature > 0)", wholeNumber(0, 2 ** 32 - 1))
    .option("--peer <name>", "run it on this node (an agent key, or a name only one node has, from `ripple peers`) instead of letting the mesh choose")
    .option("--json", "print the result as JSON for scripts (no streaming)")
    .action(async (text: string, opts: AskOptions, cmd: Command) => {
      try {
        const client = await LocalApiClient.forDataDir(globalOptions(cmd).dataDir);
        const req: AskBodyInput = {
          model: opts.model,
          prompt: text,
          ...(opts.maxTokens !== undefined ? { max_tokens: opts.maxTokens } : {}),
          ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          ...(opts.peer !== undefined ? { peer: opts.peer } : {}),
        };
        if (opts.json) {
          printJson(await client.ask(req));
          return;
        }
        let last = "";
        const r = await client.ask(req, {
          onToken: (t) => {
            printOut(t);
            if (t !== "") last = t;
          },
        });
        if (!last.endsWith("\n")) printOut("\n");
        printErr(`(${r.model} on ${r.peer}: ${r.tokens} tokens in ${r.latencyMs} ms, ${r.finishReason === "length" ? "stopped at --max-tokens" : r.finishReason}; trace ${r.traceId})\n`);
      } catch (err) {
        fail(err);
      }
    });
}
