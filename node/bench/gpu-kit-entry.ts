// The gpu-kit's project entry (../shared/gpu-kit/src/project-entry.ts) for this checkout: the same
// two commands, with today's module paths, and the engine made as NodeInference.start makes it now
// (the policy's backend through openLlama, budgets through resolveBudgets). node/bench/gpu-run.sh
// build puts it in place of the kit's copy. Two commands:
//   probe  OUT.json MODEL.gguf MODEL_NAME HARDWARE_CLASSES.json DATA_DIR [THREADS]
//     probeMachine() called as the daemon's NodeFacts calls it (threads 1, measureTokens 32), with
//     the measured model and the manifests passed in explicitly.
//   engine OUT.json COMPUTE_POLICY.yaml NAME=MODEL.gguf [NAME=MODEL.gguf ...]
//     InferenceEngine created as NodeInference.start creates it (the compute policy's threads "auto"
//     = freeCoreThreads(), memory budget, max concurrent/queued, default context size); each model is
//     loaded and gets a warm-up and three timed chat requests of ENGINE_TOKENS (128) tokens.
import { probeMachine } from "../node/src/capability/probe.ts";
import { loadHardwareClasses } from "../node/src/capability/hardware-classes.ts";
import { log, records } from "./logger.ts";
import { statSync, writeFileSync } from "node:fs";
import { loadavg, availableParallelism } from "node:os";
import { freeCoreThreads, InferenceEngine } from "../node/src/inference/inference-engine.ts";
import { loadComputePolicy } from "../node/src/config/compute-policy.ts";
import { openLlama } from "../node/src/inference/llama-backend.ts";
import { LazyLlama } from "../node/src/inference/lazy-llama.ts";
import { policyEngine } from "../node/src/inference/node-inference.ts";

const [cmd, ...args] = process.argv.slice(2);
async function probeMain(args: string[]) {
// The project's capability probe, unchanged, called the way the daemon's NodeFacts calls it
// (threads 1, measureTokens 32), with the measured model and manifests passed in explicitly.
//   node probe.mjs OUT.json MODEL.gguf MODEL_NAME HARDWARE_CLASSES.json DATA_DIR [THREADS]

const [out, modelPath, modelName, classesFile, dataDir, threadsArg] = args;
const result: Record<string, unknown> = { ok: false };
try {
  const classes = loadHardwareClasses(classesFile);
  const threads = Number(threadsArg ?? 1);
  result.options = { threads, measureTokens: 32, gpu: "auto", model: modelName, referenceModel: classes.reference_model };
  const facts = await probeMachine({
    threads,
    log,
    dataDir,
    modelsDir: dataDir,
    defaultModel: { name: modelName, path: modelPath, sha256: "not-computed (random weights)" },
    measureTokens: 32,
    classes,
  });
  result.facts = facts;
  result.ok = true;
} catch (err) {
  result.error = String((err as Error)?.stack ?? err);
}
result.log = records;
writeFileSync(out, JSON.stringify(result, null, 2));
return result.ok;

}
async function engineMain(args: string[]) {
// The project's inference engine, unchanged, created the way NodeInference.start creates it (the
// default compute policy: threads "auto" = freeCoreThreads(), memory budget, max concurrent/queued;
// default context size), then one model generated with: a warm-up and three timed requests.
//   node engine.mjs OUT.json COMPUTE_POLICY.yaml NAME=MODEL.gguf [NAME=MODEL.gguf ...]

const [out, policyFile, ...modelArgs] = args;
const maxTokens = Number(process.env.ENGINE_TOKENS ?? 128);
const models = modelArgs.map((a) => {
  const i = a.indexOf("=");
  const file = a.slice(i + 1);
  return { name: a.slice(0, i), file, sha256: "not-computed", bytes: statSync(file).size };
});
const result: Record<string, unknown> = { ok: false, maxTokens, runs: {} as Record<string, unknown> };
const save = () => writeFileSync(out, JSON.stringify({ ...result, log: records }, null, 2));
let engine: InferenceEngine | undefined;
try {
  const { inference } = loadComputePolicy(policyFile);
  const load1 = loadavg()[0];
  const threads = inference.threads === "auto" ? freeCoreThreads() : inference.threads;
  result.policy = inference;
  result.threads = { chosen: threads, availableParallelism: availableParallelism(), loadavg1: load1 };
  const opened = await openLlama(inference.gpu, threads, log);
  result.backend = opened.choice;
  const resolveModel = (name: string) => {
    const m = models.find((x) => x.name === name);
    if (!m) throw new Error(`unknown model ${name}`);
    return m;
  };
  const made = await policyEngine({ inference, threads, llama: LazyLlama.opened(opened), resolveModel, log });
  engine = made.engine;
  result.budgets = made.budgets;
  for (const m of models) {
    const runs: unknown[] = [];
    (result.runs as Record<string, unknown>)[m.name] = runs;
    try {
      const t0 = performance.now();
      const loaded = await engine.load(m.name);
      runs.push({ load: loaded, loadMs: Math.round(performance.now() - t0) });
      log.info({ model: m.name, loadMs: Math.round(performance.now() - t0) }, "engine check: model loaded");
      for (let i = 0; i < 4; i++) {
        const r = await engine.generate({
          model: m.name,
          prompt: { kind: "chat", messages: [{ role: "user", content: `Write a long story about a mesh of peers, number ${i}.` }] },
          maxTokens,
          sampling: { temperature: 0 },
        });
        const decodeMs = r.firstTokenMs === null ? null : r.latencyMs - r.firstTokenMs;
        const run = {
          warmup: i === 0, tokens: r.tokens, promptTokens: r.promptTokens, finishReason: r.finishReason,
          latencyMs: Math.round(r.latencyMs), firstTokenMs: r.firstTokenMs === null ? null : Math.round(r.firstTokenMs),
          tokensPerSecond: Math.round((r.tokens / (r.latencyMs / 1000)) * 100) / 100,
          decodeTokensPerSecond: decodeMs ? Math.round(((r.tokens - 1) / (decodeMs / 1000)) * 100) / 100 : null,
          textChars: r.text.length,
        };
        runs.push(run);
        log.info({ model: m.name, ...run }, "engine check: generation");
        save();
      }
      await engine.unload(m.name);
    } catch (err) {
      runs.push({ error: String((err as Error)?.message ?? err), code: (err as { code?: string }).code });
      log.warn({ model: m.name, err: String((err as Error)?.message ?? err) }, "engine check: model failed");
    }
    save();
  }
  result.ok = true;
} catch (err) {
  result.error = String((err as Error)?.stack ?? err);
}
await engine?.dispose().catch(() => {});
save();
return result.ok;

}
const ok = cmd === "probe" ? await probeMain(args) : cmd === "engine" ? await engineMain(args) : (console.error("usage: project.mjs probe|engine ..."), false);
process.exit(ok ? 0 : 1);
