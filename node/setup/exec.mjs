// Child processes for setup: visible output for slow tools, captured output for probes.
import { spawn } from "node:child_process";
import { SetupError } from "./errors.mjs";

/**
 * Run a command. With `capture`, stdout/stderr are returned; otherwise they go to this terminal
 * so that the tool's own progress (cargo, pip, apt) stays visible.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{cwd?: string, env?: NodeJS.ProcessEnv, capture?: boolean, timeoutMs?: number, fix?: string}} [opts]
 * @returns {Promise<{stdout: string, stderr: string}>}
 */
export function run(cmd, args, opts = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: opts.capture ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => (stdout += d));
    child.stderr?.on("data", (d) => (stderr += d));
    const timer = opts.timeoutMs
      ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs)
      : undefined;
    child.on("error", (err) => {
      clearTimeout(timer);
      const missing = /** @type {NodeJS.ErrnoException} */ (err).code === "ENOENT";
      reject(
        new SetupError(
          missing ? `\`${cmd}\` was not found on PATH` : `could not start \`${cmd}\`: ${err.message}`,
          opts.fix ?? `install \`${cmd}\` and run setup again`,
          { cause: err },
        ),
      );
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolvePromise({ stdout, stderr });
      const tail = (stderr || stdout).trim().split("\n").slice(-15).join("\n");
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(
        new SetupError(
          `\`${cmd} ${args.join(" ")}\` ${how}${tail ? `:\n${tail}` : ""}`,
          opts.fix ?? "read the output above, fix the cause and run setup again",
        ),
      );
    });
  });
}

/** True when the command runs and exits 0. */
export async function succeeds(cmd, args, opts = {}) {
  try {
    await run(cmd, args, { ...opts, capture: true });
    return true;
  } catch {
    return false;
  }
}
