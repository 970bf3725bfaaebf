// A node whose clock lies, on a real 3-node local mesh (issue #21): mallory runs under libfaketime
// (Debian's `faketime`, installed by setup) 120 s ahead — its daemon AND its conductor, so every
// heartbeat, job, claim and model registration it writes is future-dated (kitsune2's bootstrap
// server refuses agent infos more than 3 minutes off, so a bigger lie would not even join). The
// honest nodes (alice: a worker with the models; carol: a requester with an empty models dir) ignore
// those records and are not hurt:
// - `ripple peers` notes mallory's clock; its heartbeats do not count for liveness;
// - carol installs the newest HONEST registration of a model, not mallory's newer-stamped forgery;
// - alice ignores mallory's open job and keeps claiming carol's open jobs beside it;
// - mallory SIGKILLed goes offline within the liveness window (not 120 s later).
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PeerInfo } from "@ripple-mesh/api-types";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { LocalApiClient } from "../src/api/api-client.ts";
import { modelsDir, repoRoot } from "../src/config/paths.mjs";
import { RippleDaemon } from "./support/ripple-process.ts";
import { childrenOf, killNodeHard, peersOf, seesOnline, statusOf } from "./support/mesh-views.ts";
import { TestFleet } from "./support/test-fleet.ts";
import { waitFor } from "./support/wait-for.ts";

const AHEAD_S = 120;
const WINDOW_MS = 8000;
const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const TINY = "ripple-tiny-test";
const tinyFile = join(modelsDir(), `${TINY}.gguf`);
const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");
const TINY_SHA = sha256(readFileSync(tinyFile));

const fleet = new TestFleet();
const { diagnostics } = fleet;

// carol posts open jobs with a window long enough for a loaded 2-core machine (as moe-mesh.test.ts).
const policyFile = join(fleet.tempDir("rm-clock-policy-"), "inference_policy.yaml");
const policy = parse(readFileSync(join(repoRoot, "manifests", "distributed", "inference_policy.yaml"), "utf8"));
policy.local_tier.claim_window_ms = 15_000;
writeFileSync(policyFile, stringify(policy));

const startNode = (name: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): RippleDaemon =>
  fleet.up(name, ["--no-measure", "--liveness-window", String(WINDOW_MS), ...extra], { dataDir: fleet.tempDir(`rm-clock-${name}-`), env: { RIPPLE_TEST_ARTIFACTS: "1", ...env } });

const viewOf = async (viewer: RippleDaemon, agent: string): Promise<PeerInfo | undefined> => (await peersOf(viewer)).find((p) => p.agent === agent);

describe("a node whose clock runs 120 s ahead", { timeout: 900_000 }, () => {
  let alice: RippleDaemon, carol: RippleDaemon, mallory: RippleDaemon;
  let a: LocalApiClient, c: LocalApiClient, m: LocalApiClient;
  let malloryAgent = "";

  it("joins the mesh; its heartbeats do not count and `ripple peers` notes its clock", async () => {
    alice = startNode("alice");
    await alice.waitUntilRunning(); // alice first: she hosts the local mesh's bootstrap server
    carol = startNode("carol", ["--inference-policy", policyFile], { RIPPLE_MODELS_DIR: fleet.tempDir("rm-clock-carol-models-") });
    mallory = startNode("mallory", [], { LD_PRELOAD: LIBFAKETIME, FAKETIME: `+${AHEAD_S}`, FAKETIME_DONT_FAKE_MONOTONIC: "1" });
    await Promise.all([carol.waitUntilRunning(), mallory.waitUntilRunning()]);
    const agents = await Promise.all([alice, carol, mallory].map(async (n) => (await statusOf(n)).agentPubKey!));
    malloryAgent = agents[2]!;
    await waitFor("every node sees every other online", async () => ((await Promise.all([alice, carol, mallory].map((n) => seesOnline(n, agents)))).every(Boolean) ? true : undefined), {
      timeoutMs: 240_000,
      intervalMs: 1000,
      diagnostics,
    });
    const client = (n: RippleDaemon) => LocalApiClient.forDataDir(n.dataDir, { timeoutMs: 60_000 });
    [a, c, m] = [await client(alice), await client(carol), await client(mallory)];
    const seen = await waitFor("alice has mallory's future-dated records", async () => {
      const p = await viewOf(alice, malloryAgent);
      return p?.clockAheadMs ? p : undefined;
    }, { timeoutMs: 60_000, diagnostics });
    // Its records age as time passes (a capability written at start is less ahead a minute later),
    // so what alice notes is beyond the 30 s skew and at most the lie.
    expect(seen.clockAheadMs! / 1000).toBeGreaterThan(30);
    expect(seen.clockAheadMs! / 1000).toBeLessThan(AHEAD_S + 5);
    expect(seen.lastHeartbeatMs).toBeNull(); // online on libp2p pings alone
    expect(seen.reason).toBe("libp2p ping");
    expect((await viewOf(alice, agents[1]!))?.clockAheadMs).toBeUndefined();
    const table = (await alice.cli(["peers"])).stdout;
    expect(table).toMatch(/mallory .*clock ahead by \d+ s/);
    // The backend mallory serves on, as its capability advertises (no GPU here: the CPU).
    expect(seen.backend).toBe("cpu");
    expect(table.split("\n")[0]).toMatch(/GPU\s+BACKEND\s+TOK\/S/);
    expect(table).toMatch(/^mallory\s.*\s-\s+cpu\s+[\d.]+\s/m);
    console.log(`[clocks] alice's view of mallory: ${seen.reason}, clock ahead by ${Math.round(seen.clockAheadMs! / 1000)} s`);
  });

  it("a future-dated model registration is never the newest: carol installs the newest honest one", async () => {
    const honest = await a.publishModel(TINY);
    const mallorys = await m.publishModel(TINY);
    expect(mallorys.cid).toBe(honest.cid);
    // mallory's forgery: the tiny model's name and sha256 over other bytes, stamped newest of all.
    const forgedCid = (await m.putArtifact({ content: randomBytes(2048).toString("hex"), name: "not the model", kind: "bundle", mime: "application/octet-stream" })).cid;
    await (m as any).request("POST", "/v1/artifacts/forge-model", { cid: forgedCid, name: TINY, size: statSync(tinyFile).size, sha256: TINY_SHA });
    const regs = await waitFor("carol sees the three registrations", async () => {
      const r = await c.artifacts({ name: TINY, kind: "model" });
      return r.length >= 3 ? r : undefined;
    }, { timeoutMs: 120_000, diagnostics });
    // The attack is real: by its stamp, mallory's forgery is the newest registration of the name.
    expect(regs[0]).toMatchObject({ cid: forgedCid, author: malloryAgent });
    const pulled = await c.pullModel({ ref: TINY, sha256: TINY_SHA });
    expect(pulled).toMatchObject({ name: TINY, cid: honest.cid, sha256: TINY_SHA, alreadyPresent: false });
    expect((await c.localModels()).find((x) => x.name === TINY)?.sha256).toBe(TINY_SHA);
    console.log(`[clocks] carol pulled ${TINY} from the honest registration ${honest.cid}, not mallory's newer-stamped ${forgedCid}`);
  });

  it("alice ignores mallory's open job and keeps claiming carol's open jobs beside it", async () => {
    // Not awaited: whatever becomes of mallory's own job does not matter here.
    void m.moe({ prompt: "What is the capital of Italy?", experts: 1, open: true }).catch(() => undefined);
    const ignored = await alice.waitForLog((l) => String(l.msg).startsWith("ignoring an open job stamped"), 90_000);
    expect(Number(ignored.aheadMs) / 1000).toBeGreaterThan(30);
    const result = await c.moe({ prompt: "What is the capital of Japan?", experts: 2, open: true, quorum: "all" });
    expect(result.response.toLowerCase()).toContain("tokyo");
    const claimed = alice.logs.filter((l) => l.msg === "claimed an open job slot" && l.job === result.job);
    const decided = carol.logs.find((l) => l.msg === "open job: slots go to their claim winners" && l.job === result.job);
    console.log(`[clocks] carol decided after ${String(decided?.waitedMs)} ms (every known claim in: ${String(decided?.everyKnownClaimIn)}): ${JSON.stringify(decided?.slots)}`);
    expect(claimed.length).toBeGreaterThan(0);
    // mallory's job was still open on alice's conductor (window closes 135 s after "now" there) and never claimed.
    expect(alice.logs.filter((l) => l.job === ignored.job && (l.msg === "claimed an open job slot" || l.msg === "could not claim an open job slot; going on with the others"))).toEqual([]);
    console.log(`[clocks] alice claimed ${claimed.length} slot(s) of carol's open job ${result.job} beside mallory's future-dated ${String(ignored.job)}`);
  });

  it("mallory SIGKILLed goes offline within the liveness window, although its last heartbeat is future-dated", async () => {
    const before = await viewOf(alice, malloryAgent);
    expect(before?.online).toBe(true);
    const children = childrenOf(mallory.pid);
    const t0 = performance.now();
    killNodeHard(mallory.pid, children);
    await Promise.all(
      [alice, carol].map((n) => waitFor(`${n.name} sees mallory offline`, async () => ((await viewOf(n, malloryAgent))?.online === false ? true : undefined), { timeoutMs: 90_000, intervalMs: 250, diagnostics })),
    );
    const seconds = (performance.now() - t0) / 1000;
    const after = await viewOf(alice, malloryAgent);
    console.log(`[clocks] mallory offline on alice and carol ${seconds.toFixed(1)} s after SIGKILL (window ${WINDOW_MS / 1000} s): ${after?.reason}`);
    expect(after?.reason).toMatch(/silent for/);
    // Its future-dated heartbeat would have kept it "online" until ~120 s; the window is 8 s.
    expect(seconds).toBeLessThan(WINDOW_MS / 1000 + 15);
  });
});
