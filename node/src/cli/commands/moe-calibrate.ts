// `ripple moe calibrate --set FILE [--out policy.yaml]`: runs every expert of the inference policy on
// a labelled question set on this machine (no node needs to run), prints each expert's measured
// accuracy, redundancy and weights, and with --out writes the policy with those weights (every other
// setting and comment kept). See node/src/moe/calibration.ts for the arithmetic.
import { existsSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { freeCoreThreads } from "../../inference/thread-budget.ts";
import { createLogger } from "../../log.ts";
import { calibratedPolicyText, runCalibration } from "../../moe/calibrate-run.ts";
import type { CalibrationResult, ExponentCalibration } from "../../moe/calibration.ts";
import { inferencePolicyFile, loadInferencePolicy } from "../../config/inference-policy.ts";
import { RippleError } from "../../errors.ts";
import { fail, printJson, printOut, printErr } from "../run.ts";
import { wholeNumber } from "./inference-options.ts";
import { textTable } from "../../text-table.ts";

interface CalibrateOptions {
  set: string;
  out?: string;
  policy?: string;
  seed: number;
  limit?: number;
  threads?: number;
  answers?: string;
  json?: boolean;
}

export function calibrateCommand(moe: Command): void {
  moe
    .command("calibrate")
    .description("measure each expert on a labelled question set and compute its weights (per task type, shared mistakes discounted)")
    .requiredOption("--set <file>", "labelled questions: JSON lines (or a JSON array) of {id, kind, task_type, question, answers}")
    .option("--out <file>", "write the policy with the calibrated weights here (default: only print them)")
    .option("--policy <file>", "the inference policy whose experts are measured (default: the shipped one)")
    .option("--seed <n>", "seed for the experts that sample (same set + seed → same weights)", wholeNumber(0, 2 ** 31 - 1), 1)
    .option("--limit <n>", "only the first N questions", wholeNumber(1, 100_000))
    .option("--threads <n>", "llama.cpp threads (default: the free cores)", wholeNumber(1, 256))
    .option("--answers <file>", "also write every graded answer as JSON lines")
    .option("--json", "print the calibration as JSON")
    .action(async (opts: CalibrateOptions) => {
      try {
        const policyFile = opts.policy ?? inferencePolicyFile;
        if (!existsSync(opts.set)) throw new RippleError(`question set ${opts.set} does not exist`, "give the path of a JSON-lines file of labelled questions");
        const started = performance.now();
        const run = await runCalibration({
          policyFile,
          setFile: opts.set,
          seed: opts.seed,
          threads: opts.threads ?? freeCoreThreads(),
          ...(opts.limit ? { limit: opts.limit } : {}),
          log: createLogger("calibrate", process.env.RIPPLE_LOG_LEVEL ?? "warn"),
          onProgress: (done, total) => {
            if (done % 10 === 0 || done === total) printErr(`calibrate: ${done}/${total} answers, ${Math.round((performance.now() - started) / 1000)} s\n`);
          },
        });
        if (opts.answers) writeFileSync(opts.answers, run.answers.map((a) => JSON.stringify(a)).join("\n") + "\n");
        if (opts.out) {
          writeFileSync(opts.out, calibratedPolicyText(policyFile, run.result, { setFile: opts.set, seed: opts.seed, questions: run.questions.length }));
          loadInferencePolicy(opts.out); // the written file is a valid policy, or this names what is wrong
        }
        if (opts.json) printJson(run.result);
        else printOut(formatCalibration(run.result, run.questions.length, opts.out));
      } catch (err) {
        fail(err);
      }
    });
}

function formatCalibration(r: CalibrationResult, questions: number, out: string | undefined): string {
  const rows = Object.entries(r.experts).map(([name, e]) => [
    name,
    `${e.correct}/${e.questions}`,
    e.accuracy.toFixed(3),
    e.redundancy.toFixed(2),
    e.weight.toFixed(3),
    Object.entries(e.weights)
      .map(([t, w]) => `${t} ${w}`)
      .join(", "),
  ]);
  const head = ["EXPERT", "CORRECT", "ACCURACY", "REDUNDANCY", "WEIGHT", "PER TASK TYPE"];
  const [headLine, ...rowLines] = textTable([head, ...rows]).trimEnd().split("\n");
  const shared = r.pairs.filter((p) => p.sameWrong > 0).map((p) => `  ${p.a} + ${p.b}: same wrong answer on ${p.sameWrong} of the ${p.eitherWrong} questions either got wrong (similarity ${p.similarity})`);
  return [
    `calibrated on ${questions} questions`,
    headLine!,
    ...rowLines,
    ...(shared.length ? ["shared mistakes:", ...shared] : ["no shared mistakes"]),
    ...(r.confidenceExponent ? [exponentLine(r.confidenceExponent)] : []),
    out ? `wrote ${out}` : "not written (give --out FILE to write the policy with these weights)",
    "",
  ].join("\n");
}

function exponentLine(c: ExponentCalibration): string {
  const tried = c.correct.map((x) => `${x.exponent}: ${x.correct}`).join(", ");
  return `confidence exponent ${c.exponent} (the replayed vote, right answers of ${c.questions} per exponent: ${tried})`;
}
