// A worker's limits per requester and the policies' model pins (split from moe-trust-units): the
// quota refuses a requester over its concurrent or per-minute share, naming it; refusals a member
// causes are recorded within a bound, a stranger's never; a job pinning a file the worker does not
// hold is refused; the inference policy pins every expert model's file.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeHashToBase64 } from "@holochain/client";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { defaultComputePolicyFile, loadComputePolicy } from "../src/config/compute-policy.ts";
import { inferencePolicyFile, loadInferencePolicy } from "../src/config/inference-policy.ts";
import { InferenceError } from "../src/inference/inference-errors.ts";
import type { ExpertTask } from "../src/protocol/expert-task.ts";
import { JobWorker, REFUSALS_RECORDED_PER_MINUTE } from "../src/worker/job-worker.ts";
import { RequesterQuota } from "../src/worker/requester-quota.ts";
import { checkJobAllowed } from "../src/worker/worker-policy.ts";
import { silent } from "./support/inference-fixtures.ts";
import { qwen, qwenSha } from "./support/trust-fixtures.ts";

const tmp = mkdtempSync("/tmp/rm-worker-limits-");

describe("the worker's quota per requester", () => {
  it("refuses a requester over its concurrent or per-minute quota, naming it, and frees the slot when done", () => {
    let now = 0;
    const quota = new RequesterQuota(() => now);
    const limits = { max_concurrent: 1, max_per_minute: 2 };
    const done = quota.admit("uhCAk-alice", limits);
    expect(() => quota.admit("uhCAk-alice", limits)).toThrow(/already has 1 job\(s\) running .*quota: 1 at once per requester/);
    expect(quota.admit("uhCAk-bob", limits)).toBeTypeOf("function");
    done();
    quota.admit("uhCAk-alice", limits)();
    try {
      quota.admit("uhCAk-alice", limits);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InferenceError);
      expect((err as InferenceError).code).toBe("busy");
      expect((err as InferenceError).message).toMatch(/started 2 job\(s\) .* last minute \(quota: 2 per minute per requester\)/);
    }
    now += 60_001;
    expect(quota.admit("uhCAk-alice", limits)).toBeTypeOf("function");
  });

  it("records a member's refusals at most REFUSALS_RECORDED_PER_MINUTE a minute, a stranger's never; the metric counts all", async () => {
    const key = (n: number) => new Uint8Array([0x84, 0x20, 0x24, ...new Array(36).fill(n)]);
    const [selfKey, memberKey, strangerKey] = [key(1), key(2), key(3)];
    const events: Array<{ type: string; requester?: unknown }> = [];
    const refusals: string[] = [];
    const worker = new JobWorker({
      p2p: {} as never,
      engine: {} as never,
      hasModel: () => false, // every job is refused: model_not_found
      policy: () => loadComputePolicy(defaultComputePolicyFile),
      isMeshMember: (a) => a === encodeHashToBase64(memberKey),
      results: {} as never,
      assignments: async () => null,
      agentPubKey: selfKey,
      testExperts: false,
      log: silent,
      emit: (e) => events.push(e),
      metrics: { workerJobFinished: () => {}, workerJobRefused: (reason) => void refusals.push(reason) },
    });
    const task: ExpertTask = { expert: "e", kind: "model", model: qwen, prompt: { kind: "completion", text: "Q" }, sampling: { temperature: 0 }, maxTokens: 16 };
    const req = { job: "uhCkk" + "A".repeat(48), assignment: "uhCkk" + "B".repeat(48), slot: 0, epoch: 1, trace_id: "t", task };
    for (const from of [memberKey, strangerKey]) {
      for (let i = 0; i < 20; i++) expect((await worker.serve(req, from, {} as never)).outcome).toBe("refused");
    }
    const recorded = (k: Uint8Array) => events.filter((e) => e.type === "job:refused" && e.requester === encodeHashToBase64(k)).length;
    expect(recorded(memberKey)).toBe(REFUSALS_RECORDED_PER_MINUTE);
    expect(recorded(strangerKey)).toBe(0);
    expect(refusals).toHaveLength(40);
  });

  it("ships defaults in the compute policy and a worker refuses a pinned file it does not hold", () => {
    const policy = loadComputePolicy(defaultComputePolicyFile);
    expect(policy.worker.per_requester).toEqual({ max_concurrent: 4, max_per_minute: 120 });
    const task = { kind: "model" as const, model: qwen, maxTokens: 8, modelSha256: qwenSha };
    const ctx = { requester: "uhCAk" + "a".repeat(48), requesterInMesh: true, modelRegistered: true, testExperts: false };
    expect(() => checkJobAllowed(policy, task, { ...ctx, modelSha256: qwenSha })).not.toThrow();
    expect(() => checkJobAllowed(policy, task, { ...ctx, modelSha256: "e".repeat(64) })).toThrow(/the job pins 1d9614638d18/);
  });
});

describe("the inference policy pins model files", () => {
  it("ships sha256 pins for every model its experts use, and names an unpinned one", () => {
    const policy = loadInferencePolicy(inferencePolicyFile, {});
    for (const e of policy.local_tier.experts) expect(policy.models[e.model]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    const doc = parse(readFileSync(inferencePolicyFile, "utf8"));
    delete doc.models["gemma-3-270m-q4_k_m"];
    const file = join(tmp, "unpinned.yaml");
    writeFileSync(file, stringify(doc));
    expect(() => loadInferencePolicy(file, {})).toThrow(/"gemma-3-270m-q4_k_m" is not pinned in models/);
  });
});
