// How every command ends: a clear message on stderr and an exit code scripts can act on.
import type { Command } from "commander";
import { RippleError } from "../errors.ts";
import { exitCodeFor } from "./exit-codes.ts";

export function globalOptions(cmd: Command): { dataDir: string } {
  return cmd.optsWithGlobals() as { dataDir: string };
}

export function fail(err: unknown): never {
  const message = err instanceof RippleError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`ripple: error: ${message}\n`);
  process.exit(exitCodeFor(err));
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}
