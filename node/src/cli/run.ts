// How every command ends: a clear message on stderr and an exit code scripts can act on.
import type { Command } from "commander";
import { RippleError } from "../errors.ts";
import { exitCodeFor } from "./exit-codes.ts";
import { terminalJson, terminalText } from "./terminal-text.ts";

export function globalOptions(cmd: Command): { dataDir: string } {
  return cmd.optsWithGlobals() as { dataDir: string };
}

export function fail(err: unknown): never {
  const message = err instanceof RippleError || err instanceof Error ? err.message : String(err);
  printErr(`ripple: error: ${message}\n`);
  process.exit(exitCodeFor(err));
}

export function printJson(value: unknown): void {
  process.stdout.write(terminalJson(value) + "\n");
}

/** Human-readable output on stdout, control characters from peers' text made harmless (terminal-text.ts). */
export function printOut(text: string): void {
  process.stdout.write(terminalText(text));
}

/** Progress, notes and errors on stderr, likewise. */
export function printErr(text: string): void {
  process.stderr.write(terminalText(text));
}
