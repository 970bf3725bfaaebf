// One long-running child process, kept alive: started with a readiness check that has a time
// limit, restarted with exponential backoff when it dies unexpectedly, stopped gracefully with a
// signal and killed if it does not exit in time. The conductor and the bootstrap server use it.
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { ProcessStartError } from "../errors.ts";
import type { Logger } from "../log.ts";

export interface ProcessSpec<Ready> {
  /** Short name for logs and errors. */
  name: string;
  command: string;
  /** A function when the arguments change between restarts. */
  args: string[] | (() => string[]);
  env?: NodeJS.ProcessEnv;
  /** Written to stdin right after spawn (e.g. a passphrase line); a function to read it anew each start. */
  stdin?: string | (() => string);
  /** Looks at each stdout/stderr line; returns a value once the process is ready. */
  readyWhen: (line: string, stream: "stdout" | "stderr") => Ready | undefined;
  readyTimeoutMs: number;
  /** Where the process's own output is appended. */
  logFile: string;
  /** Sent to stop gracefully (holochain only shuts down cleanly on SIGINT). */
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
  /** What to tell a person when the process does not come up. */
  startFix: string;
  /**
   * Where the child's pid is kept. If the daemon was killed without stopping its children, the
   * next start finds the orphan there and kills it (it would hold the conductor's databases).
   */
  pidFile?: string;
}

export interface RestartPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Uptime after which the next failure starts the backoff from the beginning again. */
  stableAfterMs: number;
}

export const defaultRestartPolicy: RestartPolicy = { initialDelayMs: 250, maxDelayMs: 15_000, stableAfterMs: 60_000 };

const tailLines = 30;

/**
 * Events: `ready` (Ready) after every start, `exit` ({code, signal}) on unexpected exit,
 * `restarted` (Ready) after a restart, `restartFailed` (Error) when a restart attempt fails.
 */
export class SupervisedProcess<Ready> extends EventEmitter {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private startedAt = 0;
  private readonly tail: string[] = [];
  private logStream: WriteStream | undefined;
  restarts = 0;

  constructor(
    private readonly spec: ProcessSpec<Ready>,
    private readonly log: Logger,
    private readonly policy: RestartPolicy = defaultRestartPolicy,
  ) {
    super();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines the process printed, for error messages. */
  recentOutput(): string {
    return this.tail.join("\n");
  }

  /** Start and wait until ready. Rejects with ProcessStartError (including the last output lines). */
  async start(): Promise<Ready> {
    this.stopping = false;
    await this.killOrphan();
    // A stop() that came while the orphan was being killed found no child: nothing may start now.
    if (this.stopping) throw new ProcessStartError(`${this.spec.name} was stopped before it started`, "start it again when it is wanted");
    return this.spawnUntilReady();
  }

  /** A child left running by a daemon that was killed (SIGKILL) before it could stop it. */
  private async killOrphan(): Promise<void> {
    const file = this.spec.pidFile;
    if (!file || !existsSync(file)) return;
    const pid = Number(readFileSync(file, "utf8").trim());
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      // not running any more
    }
    if (pid > 0 && cmdline.split("\0")[0] === this.spec.command) {
      this.log.warn({ process: this.spec.name, pid }, "killing a copy left running by a previous daemon");
      process.kill(pid, "SIGKILL");
      for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 50));
    }
    rmSync(file, { force: true });
  }

  /** Stop gracefully; no restart follows. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill(this.spec.stopSignal ?? "SIGTERM");
      const killTimer = setTimeout(() => {
        this.log.warn({ process: this.spec.name }, "did not stop in time; sending SIGKILL");
        child.kill("SIGKILL");
      }, this.spec.stopTimeoutMs ?? 15_000);
      await exited;
      clearTimeout(killTimer);
    }
    this.child = undefined;
    if (this.spec.pidFile) rmSync(this.spec.pidFile, { force: true });
    // Detached first: a line that arrives while the stream ends must not be written to it (an error).
    const logStream = this.logStream;
    this.logStream = undefined;
    await new Promise<void>((resolve) => (logStream ? logStream.end(resolve) : resolve()));
  }

  private openLog(): WriteStream {
    if (!this.logStream) {
      mkdirSync(dirname(this.spec.logFile), { recursive: true });
      this.logStream = createWriteStream(this.spec.logFile, { flags: "a" });
    }
    return this.logStream;
  }

  private remember(line: string, stream: "stdout" | "stderr"): void {
    // Output can still arrive after 'exit' (a child of the process holding the pipe): once stopped, the
    // log file is closed for good rather than opened again and left open.
    if (!this.stopping || this.logStream) this.openLog().write(`${stream} ${line}\n`);
    this.tail.push(line);
    if (this.tail.length > tailLines) this.tail.shift();
  }

  private spawnUntilReady(): Promise<Ready> {
    const { spec } = this;
    return new Promise<Ready>((resolve, reject) => {
      let settled = false;
      const args = typeof spec.args === "function" ? spec.args() : spec.args;
      // Own process group: a Ctrl-C in the terminal reaches only the daemon, which then stops its
      // children in order, instead of every child dying at once and looking like a crash.
      const child = spawn(spec.command, args, { env: spec.env ?? process.env, stdio: ["pipe", "pipe", "pipe"], detached: true });
      this.child = child;
      if (spec.pidFile && child.pid) {
        mkdirSync(dirname(spec.pidFile), { recursive: true });
        writeFileSync(spec.pidFile, `${child.pid}\n`);
      }
      const fail = (why: string, cause?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        if (this.child === child) this.child = undefined; // its exit is this failure, not a crash to restart
        const output = this.recentOutput();
        reject(
          new ProcessStartError(
            `${spec.name} (${spec.command}) ${why}${output ? `; its last output:\n${output}\n` : ""}`,
            spec.startFix,
            { cause },
          ),
        );
      };
      const timer = setTimeout(() => fail(`was not ready within ${spec.readyTimeoutMs} ms`), spec.readyTimeoutMs);
      child.on("error", (err) => fail(`could not be started: ${err.message}`, err));
      for (const stream of ["stdout", "stderr"] as const) {
        createInterface({ input: child[stream]! }).on("line", (line) => {
          this.remember(line, stream);
          if (settled) return;
          const ready = spec.readyWhen(line, stream);
          if (ready === undefined) return;
          settled = true;
          clearTimeout(timer);
          this.startedAt = Date.now();
          this.emit("ready", ready);
          resolve(ready);
        });
      }
      child.on("exit", (code, signal) => {
        if (!settled) return fail(`exited during start-up (code ${code}, signal ${signal})`);
        if (this.child === child) this.onUnexpectedExit(code, signal);
      });
      child.stdin!.on("error", () => {}); // the process may close stdin early; its exit is reported instead
      const stdin = typeof spec.stdin === "function" ? spec.stdin() : spec.stdin;
      if (stdin !== undefined) child.stdin!.write(stdin);
    });
  }

  private onUnexpectedExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    this.child = undefined;
    if (Date.now() - this.startedAt > this.policy.stableAfterMs) this.failures = 0;
    const delay = Math.min(this.policy.initialDelayMs * 2 ** this.failures, this.policy.maxDelayMs);
    this.failures += 1;
    this.log.warn({ process: this.spec.name, code, signal, restartInMs: delay }, "process exited unexpectedly; restarting");
    this.emit("exit", { code, signal });
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    try {
      const ready = await this.spawnUntilReady();
      this.restarts += 1;
      this.log.info({ process: this.spec.name, restarts: this.restarts }, "process restarted");
      this.emit("restarted", ready);
    } catch (err) {
      this.log.error({ process: this.spec.name, err }, "restart failed; trying again");
      this.emit("restartFailed", err);
      this.onUnexpectedExit(null, null);
    }
  }
}
