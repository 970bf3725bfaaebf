// Option parsers shared by the commands: each rejects a bad value with a message naming the flag.
import { InvalidArgumentError } from "commander";
import { join } from "node:path";
import { repoRoot } from "../config/paths.mjs";

export const defaultDataDir = () => process.env.RIPPLE_DATA_DIR ?? join(repoRoot, "workdir", "node");

export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError("must be a port number 0-65535 (0 = any free port)");
  return n;
}

export function milliseconds(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number of milliseconds from ${min} to ${max}`);
    return n;
  };
}

export function nodeName(value: string): string {
  if (value.length < 1 || value.length > 64) throw new InvalidArgumentError("must be 1 to 64 characters");
  return value;
}

/** HOST:PORT, as `ripple bootstrap serve --listen` takes it. */
export function listenAddress(value: string): { host: string; port: number } {
  const m = value.match(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d+)$/);
  if (!m) throw new InvalidArgumentError("must be HOST:PORT, e.g. 0.0.0.0:8787");
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: port(m[2]!) };
}
