// `ripple probe-machine` (hidden): the start-up probe's child process (capability/start-probe.ts says
// why it is a child). Opens llama.cpp on the backend asked for, probes the machine, times the
// default model on that backend, prints { choice, facts } as one JSON line on stdout and exits.
// Its log lines go to stderr; the daemon relays them into its own log.
import { fstatSync } from "node:fs";
import type { Command } from "commander";
import { pino } from "pino";
import { gpuPreferences, type GpuPreference } from "@ripple-mesh/api-types";
import { probeMachine } from "../../capability/probe.ts";
import { openLlama } from "../../inference/llama-backend.ts";
import { fail, globalOptions } from "../run.ts";

export function probeMachineCommand(program: Command): void {
  program
    .command("probe-machine", { hidden: true })
    .description("probe this machine's capability on its inference backend (run by `ripple up`)")
    .requiredOption("--gpu <backend>", `the compute policy's inference.gpu (${gpuPreferences.join(" | ")})`)
    .requiredOption("--threads <n>", "llama.cpp threads")
    .option("--measure-tokens <n>", "decode steps to time on the default model (0: none)", "0")
    .action(async (opts: { gpu: string; threads: string; measureTokens: string }, cmd: Command) => {
      // The daemon holds our stdin (a pipe) open while it waits: when it goes away, so do we.
      if (fstatSync(0).isFIFO()) process.stdin.on("end", () => process.exit(1)).on("error", () => process.exit(1)).resume();
      try {
        const { dataDir } = globalOptions(cmd);
        if (!(gpuPreferences as readonly string[]).includes(opts.gpu)) throw new Error(`--gpu must be one of ${gpuPreferences.join(", ")}, got ${opts.gpu}`);
        const log = pino({ name: "ripple-probe", level: process.env.RIPPLE_LOG_LEVEL ?? "info" }, pino.destination(2));
        const opened = await openLlama(opts.gpu as GpuPreference, Number(opts.threads), log);
        // One thread for the measurement: the other cores stay free for the conductor starting beside it.
        const facts = await probeMachine({ threads: 1, log, dataDir, measureTokens: Number(opts.measureTokens), llama: opened.llama });
        // Exit as soon as the answer is out: nothing else here is worth waiting for (a part that timed
        // out may still run natively, and a driver may crash while llama.cpp is freed).
        process.stdout.write(`${JSON.stringify({ choice: opened.choice, facts })}\n`, () => process.exit(0));
      } catch (err) {
        fail(err);
      }
    });
}
