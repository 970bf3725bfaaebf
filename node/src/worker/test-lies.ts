// Test-only: a worker that lies, so the trust tests can run a dishonest peer on the real code path.
// Honoured only when RIPPLE_TEST_EXPERTS=1; read from DATA_DIR/test-lies.json at every job and at
// every capability publish, so a test can change a running node's behaviour between jobs.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

export const testLiesSchema = z.strictObject({
  /** Publish this tokens/s in the capability instead of the measured figure. */
  advertise_tokens_per_second: z.number().min(0).max(1e6).optional(),
  /** Answer every job with this text (hashed honestly). */
  answer: z.string().max(1024).optional(),
  /** Send a response_hash that is not sha256(output). */
  forge_response_hash: z.boolean().optional(),
  /** Claim the answer came from the model file with this sha256. */
  model_sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Say "started", then send keep-alives and never a token. */
  stall: z.boolean().optional(),
  /** Claim this confidence for every answer (when the task asks for one). */
  confidence: z.number().min(0).max(1).optional(),
});
export type TestLies = z.infer<typeof testLiesSchema>;

export const testLiesFile = (dataDir: string) => join(dataDir, "test-lies.json");

/** The lies to tell now; nothing when test experts are off or the file is absent or malformed. */
export function readTestLies(dataDir: string, enabled: boolean): TestLies {
  if (!enabled) return {};
  const file = testLiesFile(dataDir);
  if (!existsSync(file)) return {};
  const parsed = testLiesSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  return parsed.success ? parsed.data : {};
}
