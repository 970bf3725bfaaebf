// A policy's experts answered on this machine, without a node: the engine over the pinned models
// (in a scratch data dir) and one expert's answer to one question with the policy's exact prompt,
// sampling and stop strings — what a mesh worker would run. Used by `ripple moe calibrate` and the
// quality bench.
import { mkdtempSync, rmSync } from "node:fs";
import { modelsDir as defaultModelsDir } from "../config/paths.mjs";
import { InferenceEngine } from "../inference/inference-engine.ts";
import type { GenerateResult, Sampling } from "../inference/inference-types.ts";
import { ModelStore } from "../inference/model-store.ts";
import type { Logger } from "../log.ts";
import { expertTask } from "../protocol/expert-task.ts";
import type { ExpertSpec, InferencePolicy } from "../config/inference-policy.ts";

export interface LocalExpertRunner {
  /** `expert`'s answer to `question`; `sampling` overrides parts of the expert's own; `confidence` scores it too. */
  answer(expert: ExpertSpec, question: { question: string; task_type: string }, extra?: { sampling?: Partial<Sampling>; confidence?: boolean }): Promise<GenerateResult>;
  dispose(): Promise<void>;
}

export async function openLocalExperts(policy: InferencePolicy, opts: { threads: number; log: Logger; modelsDir?: string }): Promise<LocalExpertRunner> {
  const scratch = mkdtempSync("/tmp/rm-local-experts-");
  const store = await ModelStore.open({ dataDir: scratch, modelsDir: opts.modelsDir ?? defaultModelsDir(), log: opts.log });
  const engine = await InferenceEngine.create({ resolveModel: (n) => store.get(n), threads: opts.threads, memoryBudgetBytes: 4 * 2 ** 30, maxConcurrent: 1, log: opts.log });
  return {
    answer: (expert, q, extra = {}) => {
      const task = expertTask(policy, expert, { prompt: q.question, taskType: q.task_type });
      // One user's questions, in its own engine: each expert's prompt start is evaluated once.
      return engine.generate({ ...task, sampling: { ...task.sampling, ...extra.sampling }, ...(extra.confidence ? { confidence: true } : {}), promptReuseScope: "local" });
    },
    dispose: async () => {
      await engine.dispose();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
