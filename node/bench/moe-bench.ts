// `npm run bench` (part): inference through a real 3-node local mesh against the same work done
// directly in this process, side by side from one run:
//   - a single-expert job (64 tokens, greedy) through the mesh on another node ÷ direct local
//     generation with the same model and threads (target ≤ 1.20);
//   - an MOE job with the default policy's experts (6) ÷ the same expert tasks run directly in one
//     process with the same total threads and parallelism (target ≤ 1.15), and the mesh's own
//     overhead in ms (MOE wall time − the slowest slot's time from sending its job to its answer, as
//     the requester measures it; until session 29 the worker's own latency figure, which left out
//     the transport and the worker's queue);
//   - the same MOE job asked by alice (default policy: start/progress deadlines on) and by bob (a
//     policy with the deadlines effectively off, as before they existed): the deadlines must not
//     slow honest jobs (ratio ≈ 1, no slot moved by a deadline);
//   - the MOE job with quorum early vs waiting for every slot (quorum all), and each ÷ its slowest
//     expert's generation time;
//   - the same MOE job asked by alice (default policy: confidence weighting on, so every remote
//     answer is rescored on alice's own copy of its model) and by carol (reducer.confidence off):
//     what checking peers' confidence costs in wall time.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { modelsDir } from "../src/config/paths.mjs";
import { LocalApiClient } from "../src/api/api-client.ts";
import type { DaemonStatus } from "../src/daemon/daemon.ts";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import { ModelStore } from "../src/inference/model-store.ts";
import { createLogger } from "../src/log.ts";
import { expertTask } from "../src/protocol/expert-task.ts";
import { inferencePolicyFile, loadInferencePolicy } from "../src/config/inference-policy.ts";
import type { MoeResult } from "../src/moe/moe-types.ts";
import { extractShortAnswer } from "../src/moe/answer-text.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";
import { RippleDaemon } from "../test/support/ripple-process.ts";
import { waitFor } from "../test/support/wait-for.ts";

const runs = Number(process.env.RIPPLE_BENCH_INFER_RUNS ?? 3);
const qwen = "qwen2.5-coder-0.5b-instruct-q4_k_m";
const prompt64 = "Write a short story about a lighthouse keeper who finds a message in a bottle.";
const moePrompt = "What is the capital of Canada?";
const log = createLogger("moe-bench", "warn");
const dirs: string[] = [];

function up(name: string, extra: string[] = []): RippleDaemon {
  const dir = RippleDaemon.tempDir(`rm-bench-moe-${name}-`);
  dirs.push(dir);
  // One thread per node and one generation at a time: the mesh's default on this 2-core machine.
  return RippleDaemon.up(name, dir, ["--no-measure", ...extra]);
}

/** The default inference policy changed by `edit`, written to a temp file; its path. */
function policyVariant(name: string, edit: (doc: any) => void): string {
  const doc = parse(readFileSync(inferencePolicyFile, "utf8"));
  edit(doc);
  const dir = mkdtempSync("/tmp/rm-bench-policy-");
  dirs.push(dir);
  writeFileSync(join(dir, `${name}.yaml`), stringify(doc));
  return join(dir, `${name}.yaml`);
}
/** Stall deadlines as good as off (the behaviour before them). */
const policyWithoutDeadlines = () =>
  policyVariant("no-deadlines", (doc) => {
    doc.local_tier.progress_deadline_ms = 600_000;
    doc.local_tier.start_deadline_ms = 3_600_000;
  });
/** Confidence weighting off: peers' answers are not rescored (the default before session 24). */
const policyWithoutConfidence = () => policyVariant("no-confidence", (doc) => void (doc.reducer.confidence = false));
const movedByDeadline = (r: MoeResult) => r.model_votes.filter((v) => v.epoch > 1).length + r.failed_slots.filter((f) => f.error.includes("stalled")).length;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const nodes = [up("alice"), up("bob", ["--inference-policy", policyWithoutDeadlines()]), up("carol", ["--inference-policy", policyWithoutConfidence()])];
const dataDir = mkdtempSync("/tmp/rm-bench-direct-");
dirs.push(dataDir);
try {
  await Promise.all(nodes.map((n) => n.waitUntilRunning()));
  const alice = await LocalApiClient.forDataDir(nodes[0]!.dataDir);
  const bob = await LocalApiClient.forDataDir(nodes[1]!.dataDir);
  const carol = await LocalApiClient.forDataDir(nodes[2]!.dataDir);
  const agents = await Promise.all(nodes.map(async (n) => ((await (await LocalApiClient.forDataDir(n.dataDir)).status()) as DaemonStatus).agentPubKey!));
  await waitFor("alice sees both peers online with their models", async () => {
    const peers = (await alice.peers()) as PeerInfo[];
    return agents.every((a) => peers.some((p) => p.agent === a && p.online && p.models.includes(qwen))) ? true : undefined;
  }, { timeoutMs: 180_000, intervalMs: 500 });

  const policy = loadInferencePolicy();
  const store = await ModelStore.open({ dataDir, modelsDir: modelsDir(), log });
  const threads = 1;
  const direct1 = await InferenceEngine.create({ resolveModel: (n) => store.get(n), threads, memoryBudgetBytes: 4 * 2 ** 30, maxConcurrent: 1, log });
  const messages = [{ role: "user" as const, content: prompt64 }];

  // Warm both sides (model loads are not what is measured).
  // The single expert runs on another node (bob), so the network path is what is measured.
  await alice.ask({ model: qwen, messages, max_tokens: 8, peer: "bob" });
  await direct1.generate({ model: qwen, prompt: { kind: "chat", messages }, maxTokens: 8, sampling: { temperature: 0 } });

  const single = { mesh: [] as number[], direct: [] as number[], tokens: [] as number[], peers: new Set<string>() };
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    const d = await direct1.generate({ model: qwen, prompt: { kind: "chat", messages }, maxTokens: 64, sampling: { temperature: 0 } });
    single.direct.push(performance.now() - t);
    t = performance.now();
    const m = await alice.ask({ model: qwen, messages, max_tokens: 64, peer: "bob" });
    single.mesh.push(performance.now() - t);
    single.tokens.push(m.tokens, d.tokens);
    single.peers.add(m.peer);
  }
  await direct1.dispose();

  // The same expert tasks, all at once in one process: one engine, 3 parallel sequences of 1 thread
  // each — the mesh's 3 nodes × 1 thread.
  const tasks = policy.local_tier.experts.map((e) => expertTask(policy, e, { prompt: moePrompt, taskType: "short_answer" }));
  const direct3 = await InferenceEngine.create({ resolveModel: (n) => store.get(n), threads, memoryBudgetBytes: 4 * 2 ** 30, maxConcurrent: 3, log });
  const runTask = (t: (typeof tasks)[number]) => direct3.generate({ model: t.model, prompt: t.prompt, sampling: t.sampling, maxTokens: t.maxTokens, ...(t.stop ? { stop: t.stop } : {}) });
  await Promise.all(tasks.map(runTask));
  // Every node loads every model before the measured runs (placement may put any expert anywhere),
  // as the direct side has both loaded: model loads are not what is measured.
  for (const name of ["alice", "bob", "carol"]) {
    for (const model of new Set(tasks.map((t) => t.model))) await alice.ask({ model, messages, max_tokens: 4, peer: name });
  }
  await alice.moe({ prompt: moePrompt });
  await bob.moe({ prompt: moePrompt });
  await carol.moe({ prompt: moePrompt });

  const moe = { mesh: [] as number[], direct: [] as number[], overhead: [] as number[], score: [] as number[], peers: [] as number[], placements: [] as string[] };
  const deadlines = { on: [] as number[], off: [] as number[], moved: 0 };
  const confidence = { on: [] as number[], off: [] as number[], overheadOff: [] as number[], rescored: 0 };
  const quorum = { early: [] as number[], all: [] as number[], slowestAll: [] as number[], cancelled: [] as number[], same: 0 };
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await Promise.all(tasks.map(runTask));
    moe.direct.push(performance.now() - t);
    t = performance.now();
    const r = await alice.moe({ prompt: moePrompt, quorum: "all" });
    const wall = performance.now() - t;
    moe.mesh.push(wall);
    moe.overhead.push(wall - Math.max(...r.model_votes.map((v) => v.latency_ms)));
    moe.score.push(r.consensus_score);
    moe.peers.push(new Set(r.model_votes.map((v) => v.peer)).size);
    moe.placements.push(r.model_votes.map((v) => `${v.expert.split("-")[0]}@${v.peer}:${(v.latency_ms / 1000).toFixed(1)}s`).join(" "));
    deadlines.on.push(wall);
    deadlines.moved += movedByDeadline(r);
    t = performance.now();
    const off = await bob.moe({ prompt: moePrompt, quorum: "all" });
    deadlines.off.push(performance.now() - t);
    deadlines.moved += movedByDeadline(off);
    t = performance.now();
    const unchecked = await carol.moe({ prompt: moePrompt, quorum: "all" });
    confidence.off.push(performance.now() - t);
    confidence.on.push(wall);
    confidence.rescored += r.model_votes.filter((v) => v.peer_id !== null && v.confidence !== undefined).length;
    confidence.overheadOff.push(confidence.off.at(-1)! - Math.max(...unchecked.model_votes.map((v) => v.latency_ms)));
    t = performance.now();
    const early = await alice.moe({ prompt: moePrompt, quorum: "early" });
    quorum.early.push(performance.now() - t);
    quorum.all.push(wall);
    quorum.slowestAll.push(Math.max(...r.model_votes.map((v) => v.latency_ms)));
    quorum.cancelled.push(early.cancelled_slots.length);
    quorum.same += Number(extractShortAnswer(early.response) === extractShortAnswer(r.response));
  }
  await direct3.dispose();

  console.log(`\nInference through a 3-node local mesh vs direct in this process (2 cores, 1 thread per node, medians of ${runs} runs)`);
  console.log("| measure | mesh | direct | mesh ÷ direct | target |\n|---|---|---|---|---|");
  console.log(`| single expert, 64 tokens greedy (ran on ${[...single.peers].join(", ")}) | ${fmt(median(single.mesh))} | ${fmt(median(single.direct))} | ${(median(single.mesh) / median(single.direct)).toFixed(2)} | ≤ 1.20 |`);
  console.log(`| MOE, ${tasks.length} experts over ${median(moe.peers)} nodes vs 3 parallel sequences | ${fmt(median(moe.mesh))} | ${fmt(median(moe.direct))} | ${(median(moe.mesh) / median(moe.direct)).toFixed(2)} | ≤ 1.15 |`);
  console.log(`| MOE asked by alice (stall deadlines on) vs by bob (deadlines off, as before) | ${fmt(median(deadlines.on))} | ${fmt(median(deadlines.off))} | ${(median(deadlines.on) / median(deadlines.off)).toFixed(2)} | ≈ 1.00, ${deadlines.moved} slot(s) moved (target 0) |`);
  console.log(`| MOE quorum early vs all (${median(quorum.cancelled)} slot(s) cancelled, same answer ${quorum.same}/${runs}) | ${fmt(median(quorum.early))} | ${fmt(median(quorum.all))} | ${(median(quorum.early) / median(quorum.all)).toFixed(2)} | ≤ 0.80 |`);
  console.log(`| MOE asked by alice (confidence checked, ${confidence.rescored} remote answers over ${runs} runs) vs by carol (confidence off) | ${fmt(median(confidence.on))} | ${fmt(median(confidence.off))} | ${(median(confidence.on) / median(confidence.off)).toFixed(2)} | cost of checking |`);
  console.log(`MOE wall ÷ slowest slot (sent to answered): quorum all ${(median(quorum.all) / median(quorum.slowestAll)).toFixed(2)}, quorum early ${(median(quorum.early) / median(quorum.slowestAll)).toFixed(2)}`);
  console.log(`MOE mesh overhead (wall − slowest slot, sent to answered): median ${Math.round(median(moe.overhead))} ms (confidence off: ${Math.round(median(confidence.overheadOff))} ms); consensus ${moe.score.join(", ")}`);
  const secs = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(", ");
  console.log(`runs (s): single mesh [${secs(single.mesh)}] direct [${secs(single.direct)}]; MOE mesh [${secs(moe.mesh)}] direct [${secs(moe.direct)}] confidence off [${secs(confidence.off)}]; slot placements ${moe.placements.join(" | ")}`);
} finally {
  await Promise.all(nodes.map((n) => n.kill("SIGTERM")));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
