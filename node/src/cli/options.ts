// Option parsers shared by the commands: each rejects a bad value with a message naming the flag.
import { InvalidArgumentError } from "commander";
import { join } from "node:path";
import { repoRoot } from "../config/paths.mjs";
import { hasControlCharacter } from "@ripple-mesh/zome-bindings";

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
  // agent_registry's limits: 1..=64 bytes of UTF-8, no control characters.
  const bytes = Buffer.byteLength(value);
  if (bytes < 1 || bytes > 64) throw new InvalidArgumentError(`must be 1 to 64 bytes of UTF-8, got ${bytes}`);
  if (hasControlCharacter(value)) throw new InvalidArgumentError("must not contain control characters (U+0000..U+001F, U+007F..U+009F)");
  return value;
}

/** HOST:PORT, as `ripple bootstrap serve --listen` takes it. */
export function listenAddress(value: string): { host: string; port: number } {
  const m = value.match(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d+)$/);
  if (!m) throw new InvalidArgumentError("must be HOST:PORT, e.g. 0.0.0.0:8787");
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: port(m[2]!) };
}
