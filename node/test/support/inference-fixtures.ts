// The models, resolvers, requests and error checks the inference engine tests share.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { expect } from "vitest";
import { modelsDir, versionsFile } from "../../src/config/paths.mjs";
import { loadVersions } from "../../src/config/toolchain.ts";
import { InferenceError, type InferenceErrorCode } from "../../src/inference/inference-errors.ts";
import type { GenerateRequest, RegisteredModel } from "../../src/inference/inference-types.ts";

const versions = loadVersions(versionsFile);
const tinyFile = join(modelsDir(), versions.models.tiny.file);
export const tinyBytes = readFileSync(tinyFile);
export const tinySha = createHash("sha256").update(tinyBytes).digest("hex");
/** The tiny model under any name: the budget tests need several "different" models. */
export const tinyAs = (name: string): RegisteredModel => ({ name, file: tinyFile, sha256: tinySha, bytes: tinyBytes.length });
export const qwen: RegisteredModel = {
  name: versions.models.default.name,
  file: join(modelsDir(), versions.models.default.file),
  sha256: versions.models.default.sha256,
  bytes: versions.models.default.bytes,
};
export const silent = pino({ level: "silent" });

export function resolver(models: RegisteredModel[]) {
  return (name: string) => {
    const m = models.find((x) => x.name === name);
    if (!m) throw new InferenceError("model_not_found", `no model named ${name}`, "register it");
    return m;
  };
}

export const complete = (model: string, text: string, maxTokens: number, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model,
  prompt: { kind: "completion", text },
  maxTokens,
  sampling: { temperature: 0 },
  ...extra,
});

export async function rejection(p: Promise<unknown>): Promise<InferenceError> {
  const err = await p.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InferenceError);
  return err as InferenceError;
}

export async function expectCode(p: Promise<unknown>, code: InferenceErrorCode): Promise<InferenceError> {
  const err = await rejection(p);
  expect(err.code, err.message).toBe(code);
  expect(err.fix.length).toBeGreaterThan(0);
  return err;
}
