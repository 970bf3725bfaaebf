// What `ripple join` remembers for the next `ripple up`: the network and its bootstrap override.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { RippleError } from "../errors.ts";

const preferencesSchema = z.strictObject({
  network: z.enum(["local", "testnet", "mainnet"]),
  bootstrapUrl: z.string().url().max(512).optional(),
});
export type NodePreferences = z.infer<typeof preferencesSchema>;

export const preferencesFile = (dataDir: string) => join(dataDir, "node.json");

export function readPreferences(dataDir: string): NodePreferences | undefined {
  const file = preferencesFile(dataDir);
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new RippleError(`${file} is not JSON (${(err as Error).message})`, `run \`ripple join <network>\` to rewrite it, or delete it`);
  }
  const parsed = preferencesSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RippleError(`${file}: key ${issue.path.join(".") || "(top level)"}: ${issue.message}`, `run \`ripple join <network>\` to rewrite it, or delete it`);
  }
  return parsed.data;
}

export function writePreferences(dataDir: string, prefs: NodePreferences): void {
  writeFileSync(preferencesFile(dataDir), JSON.stringify(prefs, null, 2) + "\n", { mode: 0o600 });
}
