// The policies and the pure parts of MOE scheduling: the shipped YAML files load; mistakes are
// errors naming the key; the worker's gate refuses what its compute policy does not allow; expert
// prompts render as the templates say; placement spreads slots and skips peers that cannot serve.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { defaultComputePolicyFile, loadComputePolicy, type ComputePolicy } from "../src/config/compute-policy.ts";
import { checkJobAllowed } from "../src/worker/worker-policy.ts";
import { InferenceError } from "../src/inference/inference-errors.ts";
import { JobPlacement } from "../src/moe/expert-placement.ts";
import { expertTask, type ExpertTask } from "../src/protocol/expert-task.ts";
import { expandSamples, expertWeight, inferencePolicyFile, loadInferencePolicy } from "../src/config/inference-policy.ts";
import { reduce } from "../src/moe/reducer.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";

const tmp = mkdtempSync("/tmp/rm-policies-");
function edited(file: string, edit: (doc: any) => void): string {
  const doc = parse(readFileSync(file, "utf8"));
  edit(doc);
  const out = join(tmp, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(out, stringify(doc));
  return out;
}

const alice = "uhCAk" + "a".repeat(48);
const mallory = "uhCAk" + "m".repeat(48);
const qwen = "qwen2.5-coder-0.5b-instruct-q4_k_m";

describe("inference policy", () => {
  it("the shipped policy has at least 5 experts over Qwen, Gemma and SmolLM2, some sharing a model", () => {
    const policy = loadInferencePolicy(inferencePolicyFile, {});
    expect(policy.local_tier.experts.length).toBeGreaterThanOrEqual(5);
    const models = policy.local_tier.experts.map((e) => e.model);
    expect(new Set(models)).toEqual(new Set([qwen, "gemma-3-270m-q4_k_m", "smollm2-135m-instruct-q4_1"]));
    expect(models.filter((m) => m === qwen).length).toBeGreaterThan(1);
    expect(policy.cloud_tier.enabled).toBe(false);
  });

  it("names the key of an unknown field, a dangling template and a test-only expert", () => {
    expect(() => loadInferencePolicy(edited(inferencePolicyFile, (d) => (d.reducer.typo = 1)), {})).toThrow(/reducer/);
    expect(() => loadInferencePolicy(edited(inferencePolicyFile, (d) => (d.local_tier.experts[0].template = "nope")), {})).toThrow(/local_tier\.experts\.0\.template: "nope" is not one of templates/);
    const withGarbage = edited(inferencePolicyFile, (d) => d.local_tier.experts.push({ ...d.local_tier.experts[0], name: "g", kind: "garbage" }));
    expect(() => loadInferencePolicy(withGarbage, {})).toThrow(/test-only kind "garbage"/);
    expect(loadInferencePolicy(withGarbage, { RIPPLE_TEST_EXPERTS: "1" }).local_tier.experts.at(-1)!.kind).toBe("garbage");
  });

  it("a self-consistency expert runs as k seeded samples that together weigh what the expert weighs", () => {
    const file = edited(inferencePolicyFile, (d) => {
      d.local_tier.experts[2].samples = 3; // qwen-chat-warm: temperature 0.7, seed 17
      d.local_tier.experts[2].weights = { short_answer: 0.9 };
    });
    const warm = loadInferencePolicy(file, {}).local_tier.experts[2]!;
    const samples = expandSamples({ ...warm, weight: expertWeight(warm, "short_answer") });
    expect(samples.map((e) => [e.name, e.sampling.seed, e.samples])).toEqual([["qwen-chat-warm.s1", 18, 1], ["qwen-chat-warm.s2", 19, 1], ["qwen-chat-warm.s3", 20, 1]]);
    samples.forEach((e) => expect(e.weight).toBeCloseTo(0.3, 10));
    // Two of three samples agree: the expert's vote is its majority with its weight × the agreement share.
    const r = reduce(
      samples.map((e, slot) => ({ slot, expert: e.name, weight: e.weight, text: slot < 2 ? "Paris" : "Lyon" })),
      { answerKind: "short", minAgreement: 0.5, requireConsensus: false, conflictResolution: "highest_weight_wins" },
    );
    expect(r.response).toBe("Paris");
    expect(r.consensusScore).toBeCloseTo(2 / 3, 3);
    expect(expandSamples(loadInferencePolicy(inferencePolicyFile, {}).local_tier.experts[0]!)).toHaveLength(1);
    expect(() => loadInferencePolicy(edited(inferencePolicyFile, (d) => (d.local_tier.experts[0].samples = 3)), {})).toThrow(/experts\.0\.samples: needs sampling\.temperature > 0/);
    expect(() => loadInferencePolicy(edited(inferencePolicyFile, (d) => (d.local_tier.experts[0].weights = { poetry: 1 })), {})).toThrow(/experts\.0\.weights\.poetry: "poetry" is not one of task_types/);
  });

  it("renders chat few-shot turns and completion prompts with the task's instruction", () => {
    const policy = loadInferencePolicy(inferencePolicyFile, {});
    const fewShot = policy.local_tier.experts.find((e) => e.template === "chat_few_shot")!;
    const task = expertTask(policy, fewShot, { prompt: "Capital of Peru? {instruction}", taskType: "math" });
    expect(task.prompt.kind).toBe("chat");
    const messages = task.prompt.kind === "chat" ? task.prompt.messages : [];
    expect(messages[0]).toEqual({ role: "system", content: `You are a precise assistant. ${policy.task_types.math!.instruction}` });
    expect(messages.filter((m) => m.role === "assistant").length).toBe(3);
    // The user's own text is never re-filled: "{instruction}" in a prompt stays as typed.
    expect(messages.at(-1)).toEqual({ role: "user", content: "Capital of Peru? {instruction}" });
    const completion = expertTask(policy, policy.local_tier.experts.find((e) => e.template === "completion_few_shot")!, { prompt: "2+2?", taskType: "short_answer", maxTokens: 7 });
    expect(completion.prompt).toMatchObject({ kind: "completion" });
    expect(completion.prompt.kind === "completion" && completion.prompt.text.endsWith("Question: 2+2?\nAnswer:")).toBe(true);
    expect(completion.stop).toEqual(["\n"]);
    expect(completion.maxTokens).toBe(7);
  });
});

describe("compute policy and the worker's gate", () => {
  const base = loadComputePolicy(defaultComputePolicyFile);
  const task: ExpertTask = { expert: "e", kind: "model", model: qwen, prompt: { kind: "completion", text: "x" }, sampling: { temperature: 0 }, maxTokens: 16 };
  const ctx = { requester: alice, requesterInMesh: true, modelRegistered: true, testExperts: false };
  const refusal = (policy: ComputePolicy, t = task, c = ctx) => {
    try {
      checkJobAllowed(policy, t, c);
      return undefined;
    } catch (err) {
      expect(err).toBeInstanceOf(InferenceError);
      return err as InferenceError;
    }
  };
  const withRequesters = (r: Partial<ComputePolicy["worker"]["requesters"]>): ComputePolicy => ({ ...base, worker: { ...base.worker, requesters: { ...base.worker.requesters, ...r } } });

  it("allows members of the node's mesh by default and refuses everyone else", () => {
    expect(refusal(base)).toBeUndefined();
    const outsider = refusal(base, task, { ...ctx, requester: mallory, requesterInMesh: false })!;
    expect(outsider.code).toBe("policy_refused");
    expect(outsider.message).toMatch(/not in the allow list and not a member of this node's mesh/);
  });

  it("default deny admits only the allow list; the deny list wins over everything", () => {
    const denyAll = withRequesters({ default: "deny", allow: [alice] });
    expect(refusal(denyAll)).toBeUndefined();
    expect(refusal(denyAll, task, { ...ctx, requester: mallory })!.message).toMatch(/not in the allow list \(default: deny\)/);
    expect(refusal(withRequesters({ allow: [alice], deny: [alice] }))!.message).toMatch(/deny list/);
  });

  it("refuses models it does not allow or hold, too many tokens and test-only experts", () => {
    expect(refusal({ ...base, worker: { ...base.worker, allowed_models: ["other"] } })!.message).toMatch(/not in this node's allowed_models/);
    expect(refusal(base, task, { ...ctx, modelRegistered: false })!.code).toBe("model_not_found");
    expect(refusal(base, { ...task, maxTokens: base.worker.max_tokens + 1 })!.code).toBe("over_limit");
    expect(refusal(base, { ...task, kind: "garbage" })!.message).toMatch(/for tests only/);
    expect(refusal(base, { ...task, kind: "garbage" }, { ...ctx, testExperts: true })).toBeUndefined();
  });

  it("names the key of a bad agent key or unknown field", () => {
    expect(() => loadComputePolicy(edited(defaultComputePolicyFile, (d) => (d.worker.requesters.allow = ["bob"])))).toThrow(/worker\.requesters\.allow\.0: an agent key/);
    expect(() => loadComputePolicy(edited(defaultComputePolicyFile, (d) => (d.worker.max_tokenz = 3)))).toThrow(/worker/);
    expect(() => loadComputePolicy(join(tmp, "missing.yaml"))).toThrow(/does not exist/);
  });
});

describe("expert placement", () => {
  const peer = (name: string, over: Partial<PeerInfo> = {}): PeerInfo =>
    ({ agent: `agent-${name}`, peerId: `peer-${name}`, name, self: false, online: true, models: [qwen], modelRefs: [{ name: qwen, sha256: null }], activeJobs: 0, tokensPerSecond: 20, hardwareClass: "cpu-laptop", ...over }) as PeerInfo;
  const byAdvertised = (p: PeerInfo) => p.tokensPerSecond;
  const model = { model: qwen, anyPeer: false };

  it("spreads slots over peers, prefers this node on a tie and skips peers that cannot serve", () => {
    const peers = [peer("self", { self: true }), peer("b"), peer("c"), peer("offline", { online: false }), peer("nomodel", { models: [], modelRefs: [] })];
    const placement = new JobPlacement(6, { rate: byAdvertised });
    const picked = Array.from({ length: 6 }, () => placement.place(model, peers)!.name);
    expect(picked).toEqual(["self", "b", "c", "self", "b", "c"]);
  });

  it("weighs load by speed and leaves out excluded peers", () => {
    const peers = [peer("slow", { tokensPerSecond: 5 }), peer("busy", { activeJobs: 3 }), peer("fast", { tokensPerSecond: 40 })];
    expect(new JobPlacement(5, { rate: byAdvertised }).place(model, peers)!.name).toBe("fast");
    expect(new JobPlacement(5, { rate: byAdvertised }).place(model, peers, new Set(["peer-fast"]))!.name).toBe("busy");
    expect(new JobPlacement(5, { rate: byAdvertised }).place({ model: "absent", anyPeer: false }, peers)).toBeUndefined();
  });
});
