// Runs the real `ripple` command (node/bin/ripple.mjs) for tests and benchmarks: one-shot
// commands with their exit code and output, and long-running `ripple up` daemons whose JSON log
// lines are collected so a test can wait for a message and show the last lines when it fails.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { repoRoot } from "../../src/config/paths.mjs";

export const rippleBin = join(repoRoot, "node", "bin", "ripple.mjs");
/**
 * How ripple.mjs's first line runs node (`#!/usr/bin/env -S NAME=VALUE… node FLAG…`), which `npm
 * start` uses too: test daemons spawn `node ripple.mjs`, which skips that line, so they take its
 * environment and flags from it and run as a person's node does.
 */
export function rippleLaunch(file = rippleBin): { env: Record<string, string>; nodeFlags: string[] } {
  const shebang = /^#!\/usr\/bin\/env -S (.*)$/m.exec(readFileSync(file, "utf8").split("\n")[0]!);
  if (!shebang) throw new Error(`${file} does not start with #!/usr/bin/env -S …; ripple-process.ts reads how node runs from it`);
  const words = shebang[1]!.trim().split(/\s+/);
  const nodeAt = words.indexOf("node");
  if (nodeAt < 0) throw new Error(`${file}'s first line runs no node`);
  return { env: Object.fromEntries(words.slice(0, nodeAt).map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)])), nodeFlags: words.slice(nodeAt + 1) };
}

/** The node flags and environment of ripple.mjs's first line. */
export const { env: rippleNodeEnv, nodeFlags: rippleNodeFlags } = rippleLaunch();

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `ripple ARGS...` to completion. `wrap` prefixes the command (e.g. setpriv, nsenter). */
export function ripple(args: string[], opts: { env?: NodeJS.ProcessEnv; wrap?: string[]; timeoutMs?: number } = {}): Promise<CliResult> {
  const [command, ...rest] = [...(opts.wrap ?? []), process.execPath, rippleBin, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command!, rest, { cwd: repoRoot, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`ripple ${args.join(" ")} did not finish within ${opts.timeoutMs ?? 120_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `ripple ARGS... --json` that must succeed; its parsed output. */
export async function rippleJson<T>(args: string[], opts: Parameters<typeof ripple>[1] = {}): Promise<T> {
  const r = await ripple([...args, "--json"], opts);
  if (r.code !== 0) throw new Error(`ripple ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export type LogLine = Record<string, unknown> & { msg?: string };

/** A long-running `ripple` process: `ripple up` (see `up`) or `ripple bootstrap serve`. */
export class RippleDaemon {
  readonly logs: LogLine[] = [];
  readonly child: ChildProcess;
  private exited: Promise<number | null>;
  exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly dataDir: string,
    args: string[],
    opts: { env?: NodeJS.ProcessEnv; wrap?: string[] } = {},
  ) {
    const [command, ...rest] = [...(opts.wrap ?? []), process.execPath, ...rippleNodeFlags, rippleBin, "--data-dir", dataDir, ...args];
    this.child = spawn(command!, rest, {
      cwd: repoRoot,
      env: { ...process.env, ...rippleNodeEnv, RIPPLE_LOG_LEVEL: "info", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ msg: line });
      }
    });
    createInterface({ input: this.child.stderr! }).on("line", (line) => this.logs.push({ msg: line, stream: "stderr" }));
    // "close" (not "exit"): by then every output line has been read, so a failure shows its message.
    this.exited = new Promise((resolve) => this.child.on("close", (code) => resolve((this.exitCode = code))));
  }

  /** `ripple up --name NAME EXTRA...` */
  static up(name: string, dataDir: string, extra: string[] = [], opts: { env?: NodeJS.ProcessEnv; wrap?: string[] } = {}): RippleDaemon {
    return new RippleDaemon(name, dataDir, ["up", "--name", name, ...extra], opts);
  }

  static tempDir(prefix: string): string {
    return mkdtempSync(join("/tmp", prefix));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first log line that matches; rejects if the process exits first. */
  async waitForLog(match: (l: LogLine) => boolean, timeoutMs = 120_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(match);
      if (found) return found;
      if (this.exitCode !== undefined) throw new Error(`${this.name} (${this.child.spawnargs.join(" ")}) exited (${this.exitCode}) before the expected log line:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: expected log line not seen within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Three conductors installing the hApp at once on 2 cores take ~60 s (wasm compilation). */
  waitUntilRunning(timeoutMs = 240_000): Promise<LogLine> {
    return this.waitForLog((l) => typeof l.msg === "string" && l.msg.startsWith("node running on the"), timeoutMs);
  }

  tail(n = 15): string {
    return this.logs
      .slice(-n)
      .map((l) => JSON.stringify(l))
      .join("\n");
  }

  cli(args: string[]): Promise<CliResult> {
    return ripple(["--data-dir", this.dataDir, ...args]);
  }

  cliJson<T>(args: string[]): Promise<T> {
    return rippleJson<T>(["--data-dir", this.dataDir, ...args]);
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill(signal);
    return this.exited;
  }
}
