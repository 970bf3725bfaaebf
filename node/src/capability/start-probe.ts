// The start-up probe, run in a child process (`ripple probe-machine`, hidden): it opens llama.cpp on
// the backend the compute policy asks for (llama-backend.ts), probes the machine and times the
// default model on that backend, prints { choice, facts } as one JSON line and exits.
//
// Why a child: node-llama-cpp, a loaded model and its context would otherwise stay in the daemon for
// good (~41 MiB for the library alone, more after a model ran; issue #22), though an idle node never
// serves; and a GPU driver that crashes while it is probed takes the child down, not the node.
// The daemon then opens llama.cpp on the chosen backend only when a model first loads.
//
// When the child fails (crash, timeout, unreadable answer) the node still starts: on the CPU, with the
// reason in `ripple status`, and with the machine probed in-process without node-llama-cpp.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import type { BackendChoice, GpuPreference } from "@ripple-mesh/api-types";
import { repoRoot } from "../config/paths.mjs";
import type { Logger } from "../log.ts";
import { probeMachine, type MachineFacts } from "./probe.ts";

export interface StartProbe {
  choice: BackendChoice;
  facts: MachineFacts;
}

export interface StartProbeOptions {
  dataDir: string;
  gpu: GpuPreference;
  /** llama.cpp threads of the engine (the backend is opened with them). */
  threads: number;
  /** Decode steps to time on the default model; 0: do not measure. */
  measureTokens: number;
  log: Logger;
  /** The whole child, start to answer (default 180 s: its parts are time-boxed to 30 s and 120 s). */
  timeoutMs?: number;
  /** The ripple command to run (default node/bin/ripple.mjs of this checkout). */
  rippleBin?: string;
  /** Aborted when the node stops during its start: the child is killed and the probe rejects with the reason. */
  signal?: AbortSignal;
}

/** What the child prints, checked before the node acts on it. */
const answerSchema = z.object({
  choice: z.object({ backend: z.enum(["cpu", "cuda", "vulkan", "metal"]), requested: z.string(), reason: z.string(), fix: z.string().nullable() }).passthrough(),
  facts: z.object({ hardwareClass: z.string(), cpu: z.object({}).passthrough(), memory: z.object({}).passthrough() }).passthrough(),
});

const maxAnswerBytes = 1024 * 1024;

export async function runStartProbe(opts: StartProbeOptions): Promise<StartProbe> {
  try {
    return await probeInChild(opts);
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const reason = `the start-up probe failed (${(err as Error).message})`;
    const fix = "read the lines logged with from=probe above; set inference.gpu: off in the compute policy if a GPU driver crashes it";
    opts.log.warn({ reason, fix }, `inference backend: cpu, because ${reason}`);
    const facts = await probeMachine({ threads: 1, log: opts.log, dataDir: opts.dataDir, gpu: false, measureTokens: 0 });
    return { choice: { backend: "cpu", requested: opts.gpu, reason, fix, gpu: null }, facts };
  }
}

function probeInChild(opts: StartProbeOptions): Promise<StartProbe> {
  const bin = opts.rippleBin ?? join(repoRoot, "node", "bin", "ripple.mjs");
  const args = [bin, "--data-dir", opts.dataDir, "probe-machine", "--gpu", opts.gpu, "--threads", String(opts.threads), "--measure-tokens", String(opts.measureTokens)];
  // stdin is a pipe the child watches: when this process ends (stopped mid-start, killed), the pipe
  // closes and the child exits instead of holding llama.cpp and a core for the rest of its probe.
  opts.log.info({ step: "probe", gpu: opts.gpu, measureTokens: opts.measureTokens }, "probing the machine and its inference backend (in a child process)");
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"], env: process.env });
  return new Promise<StartProbe>((resolve, reject) => {
    let settled = false;
    let outBytes = 0;
    let lastErrorLine = "";
    const finish = (err: Error | null, value?: StartProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        child.kill("SIGKILL");
        reject(err);
        return;
      }
      resolve(value!);
      // The answer is in: the child exits by itself; one still disposing after 5 s is stopped.
      const reaper = setTimeout(() => child.kill("SIGKILL"), 5_000);
      reaper.unref();
      child.once("close", () => clearTimeout(reaper));
    };
    const timeoutMs = opts.timeoutMs ?? 180_000;
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    // The answer is the first stdout line that reads as one; anything else a library prints there is skipped.
    const out = createInterface({ input: child.stdout! });
    child.stdout!.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxAnswerBytes) finish(new Error(`it printed more than ${maxAnswerBytes} bytes`));
    });
    out.on("line", (line) => {
      const answer = readAnswer(line);
      if (answer) finish(null, answer);
    });
    // The child logs JSON lines on stderr: relayed into the node's log, marked from=probe.
    createInterface({ input: child.stderr! }).on("line", (line) => {
      if (!relayLogLine(opts.log, line) && line.trim()) lastErrorLine = line.trim().slice(0, 300);
    });
    child.on("error", (err) => finish(err));
    if (opts.signal?.aborted) finish(new Error("aborted before it started"));
    opts.signal?.addEventListener("abort", () => finish(new Error("aborted")), { once: true });
    child.on("close", (code, signal) => {
      const how = signal ? `it was killed by ${signal}` : code === 0 ? "its answer was not readable" : `it exited with code ${code}`;
      finish(new Error(lastErrorLine ? `${how}: ${lastErrorLine}` : how));
    });
  });
}

function readAnswer(line: string): StartProbe | undefined {
  try {
    const parsed = answerSchema.safeParse(JSON.parse(line));
    return parsed.success ? (parsed.data as unknown as StartProbe) : undefined;
  } catch {
    return undefined;
  }
}

/** A JSON log line of the child, logged here at its level: true. Anything else (an error printed as text): false, logged as a warning. */
function relayLogLine(log: Logger, line: string): boolean {
  try {
    const { level, msg, time: _time, pid, hostname: _host, name: _name, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const label = typeof level === "number" ? log.levels.labels[level] : undefined;
    const at = (label && label in log ? label : "info") as "info";
    log[at]({ ...fields, from: "probe", probePid: pid }, String(msg ?? ""));
    return true;
  } catch {
    log.warn({ from: "probe" }, line.slice(0, 1000));
    return false;
  }
}
