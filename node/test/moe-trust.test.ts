// A vote no single peer can capture, on a real mesh of three honest nodes and a liar (real daemons,
// conductors and GGUF models): mallory is an honest daemon made to lie through the test-only hook (worker/test-lies.ts):
// it re-publishes its capability with 1e6 tok/s and answers a fixed wrong answer, then forges its
// response_hash, claims another model file, and stalls. Placement gives it at most ⌊(k−1)/2⌋ slots
// (also with a second agent bound to its libp2p key), the honest majority's answer wins, bad answers
// are refused and their slots reassigned, a staller loses its slot at the progress deadline and is
// not placed again, and a worker's per-requester quota sends a requester's slots elsewhere.
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { repoRoot } from "../src/config/paths.mjs";
import { LocalApiClient } from "../src/api/api-client.ts";
import type { MoeEvent } from "../src/api/inference-source.ts";
import { testLiesFile, type TestLies } from "../src/worker/test-lies.ts";
import type { MoeResult } from "../src/moe/moe-types.ts";
import { loadInferencePolicy } from "../src/config/inference-policy.ts";
import { confidenceFactor } from "../src/moe/vote-confidence.ts";
import { RippleDaemon } from "./support/ripple-process.ts";
import { peersOf, seesOnline, statusOf } from "./support/mesh-views.ts";
import { TestFleet } from "./support/test-fleet.ts";
import { waitFor } from "./support/wait-for.ts";

const fleet = new TestFleet();
const { diagnostics } = fleet;
const qwen = "qwen2.5-coder-0.5b-instruct-q4_k_m";
const LIE = "Lyon";

const lie = (node: RippleDaemon, lies: TestLies) => writeFileSync(testLiesFile(node.dataDir), JSON.stringify(lies));

/**
 * The default compute policy without open-job claiming (these tests post no open jobs, and its
 * per-second DHT read in four conductors costs CPU that inference needs on 2 cores), with an edit.
 */
function computePolicy(dataDir: string, edit: (policy: any) => void = () => {}): void {
  const policy = parse(readFileSync(join(repoRoot, "manifests", "distributed", "compute_policy.yaml"), "utf8"));
  policy.worker.serve_open_jobs = false;
  edit(policy);
  // Read for every job: no restart needed.
  writeFileSync(join(dataDir, "compute_policy.yaml"), stringify(policy));
}

/** What the nodes logged about refusing peers and moving slots (shown when a job fails). */
function printRefusals(): void {
  for (const n of fleet.nodes) {
    for (const l of n.logs.filter((l) => /refusing peer|reassigning a slot|refused a worker's answer/.test(String(l.msg)))) console.log(`  ${n.name}: ${JSON.stringify(l)}`);
  }
}

function printVotes(label: string, r: MoeResult): void {
  console.log(`[moe-trust] ${label}: "${r.response}" consensus ${r.consensus_score} diversity ${r.diversity} in ${r.wall_ms} ms`);
  for (const f of r.failed_slots) console.log(`  slot ${f.slot} ${f.expert} FAILED: ${f.error}`);
  for (const x of r.rejected_answers) console.log(`  slot ${x.slot} epoch ${x.epoch} from ${x.peer} REFUSED: ${x.reason}`);
  for (const v of r.model_votes) console.log(`  slot ${v.slot} epoch ${v.epoch} ${v.expert.padEnd(26)} on ${v.peer.padEnd(9)} w=${v.weight} counted=${v.counted_weight} ${v.agreed ? "agreed" : "DISAGREED"}: ${JSON.stringify(v.output.slice(0, 40))}`);
}

async function moe(from: RippleDaemon, prompt: string, experts = 5): Promise<{ result: MoeResult; events: MoeEvent[] }> {
  const client = await LocalApiClient.forDataDir(from.dataDir);
  const events: MoeEvent[] = [];
  // quorum "all": these tests look at every slot (early quorum is tested in moe-mesh.test.ts).
  const result = await client.moe({ prompt, experts, quorum: "all" }, { onEvent: (e) => events.push(e) }).catch((err: Error) => {
    printRefusals();
    throw err;
  });
  printVotes(`${from.name}: ${prompt}`, result);
  return { result, events };
}

/** Slots first assigned to a node, and slots reassigned away from it, in one job's events. */
const assignedTo = (events: MoeEvent[], names: string[]) => events.filter((e) => e.type === "moe:assigned" && names.includes(e.peer)).length;
/** Slots handed to these peers: first assignments and reassignments alike. */
const givenTo = (events: MoeEvent[], names: string[]) => assignedTo(events, names) + events.filter((e) => e.type === "moe:reassigned" && names.includes(e.to)).length;
const reassignedFrom = (events: MoeEvent[], name: string) => events.flatMap((e) => (e.type === "moe:reassigned" && e.from === name ? [e] : []));
/** mallory's machine, under either of the agents bound to its libp2p key (they are one peer). */
const MALLORY = ["mallory", "mallory-2"];
const isMallory = (peer: string) => MALLORY.includes(peer);

// Three honest daemons (alice, bob, carol) and mallory, who lies, plus a short-lived second mallory
// agent: with k slots mallory may hold at most ⌊(k−1)/2⌋, so the honest nodes hold the majority.
// carol leaves after the first two tests: the rest need only two honest nodes, and every conductor
// shares this machine's 2 cores with inference.
describe("MOE with a lying peer beside three honest nodes", { timeout: 1_200_000 }, () => {
  let alice: RippleDaemon, bob: RippleDaemon, carol: RippleDaemon, mallory: RippleDaemon;
  let url: string;
  const startNode = (name: string, dataDir = fleet.tempDir(`rm-trust-${name}-`)) =>
    (computePolicy(dataDir),
    // Heartbeats every 10 s (not 5): less DHT traffic for conductors that share 2 cores with inference.
    fleet.up(name, ["--no-measure", "--heartbeat-interval", "10000", "--liveness-window", "30000", "--network", "local", "--bootstrap", url], { dataDir, env: { RIPPLE_TEST_EXPERTS: "1" } }));

  it("a peer advertising 1e6 tok/s gets at most ⌊(k−1)/2⌋ slots and the honest majority's answer wins", async () => {
    // A fixed bootstrap/relay server instead of the local-mesh election: mallory's second agent
    // shares its libp2p peer id, which the election (keyed by peer id) is not meant to survive.
    const operator = fleet.spawn("operator", ["bootstrap", "serve", "--listen", "127.0.0.1:0"]);
    url = String((await operator.waitForLog((l) => l.msg === "bootstrap/relay server listening", 30_000)).url);
    const malloryDir = fleet.tempDir("rm-trust-mallory-");
    writeFileSync(testLiesFile(malloryDir), JSON.stringify({ advertise_tokens_per_second: 1e6, answer: LIE } satisfies TestLies));
    [alice, bob, carol, mallory] = [startNode("alice"), startNode("bob"), startNode("carol"), startNode("mallory", malloryDir)];
    const nodes = [alice, bob, carol, mallory];
    await Promise.all(nodes.map((n) => n.waitUntilRunning()));
    const agents = await Promise.all(nodes.map(async (n) => (await statusOf(n)).agentPubKey!));
    await waitFor("every node sees every other online", async () => ((await Promise.all(nodes.map((n) => seesOnline(n, agents)))).every(Boolean) ? true : undefined), {
      timeoutMs: 240_000,
      intervalMs: 500,
      diagnostics,
    });

    const seen = (await peersOf(alice)).find((p) => p.name === "mallory")!;
    expect(seen.tokensPerSecond).toBe(1e6);
    expect(seen.trust!.advertisedTokensPerSecond).toBe(1e6);
    expect(seen.trust!.boundedTokensPerSecond).toBe(seen.trust!.classCeiling);
    expect(seen.trust!.classCeiling).toBeLessThan(1000);
    const shown = await alice.cli(["peers"]);
    expect(shown.stdout).toMatch(/mallory[^\n]*1000000 tok\/s advertised \(capped at \d+\)/);

    const { result, events } = await moe(alice, "What is the capital of France?");
    const onMallory = result.model_votes.filter((v) => v.peer === "mallory");
    // mallory ranks first (its capped claim still beats unmeasured peers) and gets exactly the cap;
    // the three honest machines hold the other three slots.
    expect(assignedTo(events, ["mallory"])).toBe(2);
    expect(onMallory.length).toBeLessThanOrEqual(2);
    expect(new Set(result.model_votes.filter((v) => !isMallory(v.peer)).map((v) => v.peer)).size).toBeGreaterThanOrEqual(2);
    for (const v of onMallory) expect(v.output).toBe(LIE);
    expect(result.response.toLowerCase()).toContain("paris");
    expect(onMallory.every((v) => !v.agreed)).toBe(true);
    // One machine, one voice: mallory's answers together weigh its heaviest vote's (weight × the
    // confidence alice counted for it: reducer.confidence is on in the shipped policy).
    if (onMallory.length > 0) expect(onMallory.reduce((t, v) => t + v.counted_weight, 0)).toBeCloseTo(Math.max(...onMallory.map((v) => v.weight * confidenceFactor(v.confidence, loadInferencePolicy().reducer.confidence_exponent))), 3);
    expect(result.diversity).not.toBe("local");
  });

  it("two agents bound to mallory's libp2p key count as one peer: flagged, never both placed", async () => {
    const dir = fleet.tempDir("rm-trust-mallory2-");
    copyFileSync(join(mallory.dataDir, "libp2p-key"), join(dir, "libp2p-key"));
    lie({ dataDir: dir } as RippleDaemon, { advertise_tokens_per_second: 1e6, answer: LIE });
    const mallory2 = startNode("mallory-2", dir);
    try {
      await mallory2.waitUntilRunning();
      const [m1, m2] = await Promise.all([statusOf(mallory), statusOf(mallory2)]);
      expect(m2.peerId).toBe(m1.peerId);
      await waitFor("alice sees mallory-2 online", async () => ((await seesOnline(alice, [m2.agentPubKey!])) ? true : undefined), { timeoutMs: 120_000, intervalMs: 500, diagnostics });
      const view = await peersOf(alice);
      expect(view.find((p) => p.name === "mallory")!.trust!.sharesPeerIdWith).toEqual(["mallory-2"]);
      expect(view.find((p) => p.name === "mallory-2")!.trust!.sharesPeerIdWith).toEqual(["mallory"]);
      expect((await alice.cli(["peers"])).stdout).toMatch(/same machine as mallory-2/);
      // Three slots over four machines (alice, bob, carol, mallory's): mallory and mallory-2 are one
      // machine, so together they get at most ⌊(3−1)/2⌋ = 1, and the honest majority's answer wins.
      const { result, events } = await moe(alice, "What is the capital of Spain?", 3);
      expect(assignedTo(events, MALLORY)).toBeLessThanOrEqual(1);
      expect(result.model_votes.filter((v) => isMallory(v.peer)).length).toBeLessThanOrEqual(1);
      expect(result.response.toLowerCase()).toContain("madrid");
    } finally {
      // Five conductors on 2 cores slow everything after them: the rest runs with alice, bob and mallory.
      await Promise.all([mallory2.kill("SIGTERM"), carol.kill("SIGTERM")]);
    }
  });

  it("refuses a forged response_hash and reassigns the slot", async () => {
    lie(mallory, { advertise_tokens_per_second: 1e6, forge_response_hash: true });
    // bob has not run a job with mallory yet: its capped claim ranks it first there (one of three slots).
    const { result, events } = await moe(bob, "What is the capital of Germany?", 3);
    const refused = result.rejected_answers.filter((r) => isMallory(r.peer));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length).toBeLessThanOrEqual(givenTo(events, MALLORY));
    for (const r of refused) expect(r.reason).toMatch(/forged response_hash/);
    for (const e of MALLORY.flatMap((m) => reassignedFrom(events, m))) expect(e.reason).toMatch(/forged response_hash/);
    expect(result.model_votes.some((v) => isMallory(v.peer))).toBe(false);
    expect(result.response.toLowerCase()).toContain("berlin");
    expect(result.model_votes).toHaveLength(3);
    // Observations are per machine: either agent's entry shows the refused answer.
    const m = (await peersOf(bob)).find((p) => p.name === "mallory")!;
    expect(m.trust!.observed!.badAnswers).toBeGreaterThan(0);
  });

  it("refuses an answer from a model file other than the pinned one and reassigns the slot", async () => {
    lie(mallory, { advertise_tokens_per_second: 1e6, model_sha256: "e".repeat(64) });
    // mallory is suspect by now (its lies' confidence claims were caught), so it is placed only when
    // every honest machine is at the cap: four slots over three honest machines (cap 1) give it one.
    const { result, events } = await moe(alice, "What is the capital of Japan?", 4);
    const refused = result.rejected_answers.filter((r) => isMallory(r.peer));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length).toBeLessThanOrEqual(givenTo(events, MALLORY));
    for (const r of refused) expect(r.reason).toMatch(/wrong model: answered with the file sha256 eeeeeeeeeeee…, the policy pins/);
    expect(result.model_votes.some((v) => isMallory(v.peer))).toBe(false);
    expect(result.response.toLowerCase()).toContain("tokyo");
    expect(result.model_votes).toHaveLength(4);
  });

  it("a staller that sends keep-alives but no tokens loses its slot at the progress deadline; the next job avoids it", async () => {
    lie(mallory, { stall: true });
    const client = await LocalApiClient.forDataDir(bob.dataDir);
    const started = Date.now();
    const answer = await client.ask({ model: qwen, prompt: "What is 2 + 3? Answer with a number.", max_tokens: 8, peer: "mallory" });
    const elapsed = Date.now() - started;
    console.log(`[moe-trust] staller: answered by ${answer.peer} after ${elapsed} ms`);
    const moved = await bob.waitForLog((l) => l.msg === "reassigning a slot" && l.from === "mallory" && String(l.reason).includes("stalled"), 5_000);
    expect(String(moved.reason)).toMatch(/no token within \d+ ms after it started/);
    expect(answer.peer).not.toBe("mallory");
    expect(answer.text).toContain("5");
    // The default progress deadline is 20 s (more for a peer seen to be slow to its first token);
    // before it, a staller held the slot for the whole timeout_ms (60 s).
    expect(elapsed).toBeGreaterThanOrEqual(20_000);
    expect(elapsed).toBeLessThan(60_000);
    const m = (await peersOf(bob)).find((p) => p.name === "mallory")!;
    expect(m.trust!.observed!.stalls).toBeGreaterThan(0);

    // Two slots (cap one each): bob and alice, never stalled, take them; the staller gets none.
    const next = await moe(bob, "What is the capital of Canada?", 2);
    expect(assignedTo(next.events, ["mallory", "mallory-2"])).toBe(0);
    expect(next.result.model_votes).toHaveLength(2);
  });

  it("a worker refuses a requester over its per-minute quota, naming it; the slot goes elsewhere", async () => {
    rmSync(testLiesFile(mallory.dataDir));
    computePolicy(alice.dataDir, (policy) => (policy.worker.per_requester = { max_concurrent: 1, max_per_minute: 1 }));
    // bob asks two 2-slot jobs: one slot on bob, one on alice (mallory, a recent staller, comes last).
    const runs = [await moe(bob, "What is the capital of Egypt?", 2), await moe(bob, "What is the capital of Peru?", 2)];
    const refusals = runs.flatMap((r) => reassignedFrom(r.events, "alice"));
    expect(refusals.length, "alice refused at least one of bob's slots").toBeGreaterThan(0);
    for (const e of refusals) expect(e.reason).toMatch(/busy: requester uhCAk\S+ (started|already has) .*quota: 1 (per minute|at once) per requester/);
    for (const { result } of runs) {
      expect(result.model_votes).toHaveLength(2);
      expect(result.model_votes.filter((v) => v.peer === "alice").length).toBeLessThanOrEqual(1);
    }
    const bobKey = (await statusOf(bob)).agentPubKey!;
    const logged = await alice.waitForLog((l) => l.msg === "job refused by policy" && l.requester === bobKey && String(l.reason).includes("quota"), 5_000);
    expect(logged.code).toBe("busy");
  });
});
