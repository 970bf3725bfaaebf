// The model store's test fixtures: a temporary data directory and models directory holding a copy
// of the tiny test GGUF, fresh for every test (never workdir/), and a logger that keeps its lines.
// The directories are live bindings: read them inside a test, after useModelStoreDirs() has set them.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, expect } from "vitest";
import { modelsDir as realModelsDir, versionsFile } from "../../src/config/paths.mjs";
import { loadVersions } from "../../src/config/toolchain.ts";
import { InferenceError } from "../../src/inference/inference-errors.ts";
import { ModelStore } from "../../src/inference/model-store.ts";

export const pins = loadVersions(versionsFile).models;
export const tinySource = join(realModelsDir(), pins.tiny.file);
export const sha256Of = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
export const tinySha = sha256Of(tinySource);

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}
export function capturingLogger() {
  const lines: LogLine[] = [];
  const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
  return { log: pino({ level: "debug" }, stream), lines };
}

/** Run `fn`, expect it to reject with an InferenceError, return that error. */
export async function inferenceError(fn: () => unknown): Promise<InferenceError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InferenceError);
    return err as InferenceError;
  }
  throw new Error("expected an InferenceError, nothing was thrown");
}

export let root: string;
export let dataDir: string;
export let modelsDir: string;
export let registryFile: string;
export let logs: ReturnType<typeof capturingLogger>;
export const open = (extra: { versionsFile?: string } = {}) => ModelStore.open({ dataDir, modelsDir, log: logs.log, ...extra });

/** Fresh directories (modelsDir holding the tiny model) before each test of the calling file, removed after. */
export function useModelStoreDirs(): void {
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "model-store-"));
    dataDir = join(root, "data");
    modelsDir = join(root, "models");
    registryFile = join(dataDir, "models.json");
    mkdirSync(modelsDir);
    copyFileSync(tinySource, join(modelsDir, pins.tiny.file));
    logs = capturingLogger();
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
}
