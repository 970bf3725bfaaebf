// The web UI in a real browser (Debian's Chromium driven by playwright-core; no browser download)
// against two real daemons on a real local mesh (conductors, libp2p, the real models): every page
// loads without console errors; a model pull shows on the Shards page as it happens (its events),
// and the pulled model on disk; a prompt from the Console streams its experts' tokens, then the
// merged answer and its votes, and the job appears on the Jobs page; a single-model answer grows as
// it streams; bob's Jobs page lists, live, the slot he serves for alice; a SIGKILLed peer turns
// offline on the Peers page within the liveness window without a reload; a stopped daemon makes the page say so and reconnect. Screenshots of each page go to
// docs/screenshots/ (the README shows them).
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { modelsDir, repoRoot } from "../src/config/paths.mjs";
import { LocalApiClient } from "../src/api/api-client.ts";
import { inferencePolicyFile, loadInferencePolicy } from "../src/config/inference-policy.ts";
import { RippleDaemon } from "./support/ripple-process.ts";
import { childrenOf, killNodeHard, seesOnline, statusOf } from "./support/mesh-views.ts";
import { TestFleet } from "./support/test-fleet.ts";
import { waitFor } from "./support/wait-for.ts";

const chromiumPath = process.env.RIPPLE_CHROMIUM ?? "/usr/bin/chromium";
const shotsDir = join(repoRoot, "docs", "screenshots");
const livenessWindowMs = 8000;
const QWEN = "qwen2.5-coder-0.5b-instruct-q4_k_m";
const GEMMA = "gemma-3-270m-q4_k_m";
let browser: Browser | undefined;
const fleet = new TestFleet(async () => browser?.close());
const { diagnostics } = fleet;

const startNode = (name: string, env: NodeJS.ProcessEnv = {}): RippleDaemon =>
  fleet.up(name, ["--no-measure", "--liveness-window", String(livenessWindowMs)], { dataDir: fleet.tempDir(`rm-ui-${name}-`), env });

/** A models directory of its own holding the real models (hard links; copies across file systems): a model pulled there stays out of the shared one. */
function ownModelsDir(name: string): string {
  const dir = fleet.tempDir(`rm-ui-${name}-models-`);
  for (const f of readdirSync(modelsDir())) {
    try {
      linkSync(join(modelsDir(), f), join(dir, f));
    } catch {
      copyFileSync(join(modelsDir(), f), join(dir, f));
    }
  }
  return dir;
}

/** Console errors and uncaught exceptions of a page, as they happen. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ""}`));
  return errors;
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: join(shotsDir, `${name}.png`), fullPage: true });
}

/** Navigates by the tab (a hash change, not a reload) and waits for the page's root. */
async function openTab(page: Page, tab: string, root: string): Promise<void> {
  await page.click(`[data-testid="nav-${tab}"]`);
  await page.waitForSelector(`[data-testid="${root}"]`, { timeout: 15_000 });
}

describe("the web UI in Chromium on a 2-node local mesh", { timeout: 600_000 }, () => {
  let alice: RippleDaemon, bob: RippleDaemon;
  let url: string;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    expect(existsSync(chromiumPath), `${chromiumPath} is missing: run \`npm run setup\` (it installs Debian's chromium)`).toBe(true);
    expect(existsSync(join(repoRoot, "ui", "dist", "index.html")), "ui/dist is not built: run `npm run setup`").toBe(true);
    [alice, bob] = [startNode("alice", { RIPPLE_MODELS_DIR: ownModelsDir("alice") }), startNode("bob")];
    // Chromium starts while the conductors install the hApp.
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    await Promise.all([alice, bob].map((n) => n.waitUntilRunning()));
    const agents = await Promise.all([alice, bob].map(async (n) => (await statusOf(n)).agentPubKey!));
    await waitFor("both nodes see each other online", async () => ((await Promise.all([alice, bob].map((n) => seesOnline(n, agents)))).every(Boolean) ? true : undefined), {
      timeoutMs: 180_000,
      diagnostics,
    });
    url = (await statusOf(alice)).api!;
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    errors = watchErrors(page);
  }, 300_000);

  it("loads every page without console errors, each showing the node's real state", async () => {
    const aliceStatus = await statusOf(alice);
    await page.goto(`${url}/`);
    // Marks this document: if the page were reloaded later, the mark would be gone.
    // (Code run in the page is passed as text: this file is type-checked without the DOM's types.)
    await page.evaluate("window.__sameDocument = true");

    await page.waitForSelector('[data-testid="page-peers"]');
    await page.waitForSelector('[data-testid="peer-row"][data-peer="bob"][data-online="true"]', { timeout: 15_000 });
    expect(await page.textContent('[data-testid="peer-row"][data-peer="bob"] [data-testid="peer-backend"]')).toBe("serves on cpu");
    await page.waitForSelector('[data-testid="topology"] [data-peer="alice"].tnode-self');
    expect(await page.locator('[data-testid="peer-row"]').count()).toBe(2);
    expect(await page.textContent('[data-testid="whoami"]')).toContain("alice");

    await openTab(page, "shards", "page-shards");
    await page.waitForSelector(`[data-testid="shard-row"][data-model="${QWEN}"]`);
    const qwenRow = await page.textContent(`[data-testid="shard-row"][data-model="${QWEN}"]`);
    expect(qwenRow).toMatch(/on disk|loaded/);
    expect(qwenRow).toContain("served");
    expect(qwenRow).toContain("—"); // no CID until the model is published to IPFS
    // Publishing puts the GGUF in alice's kubo and registers it: the page shows its CID and that
    // alice pins it on its next shards read (no reload).
    const published = await (await LocalApiClient.forDataDir(alice.dataDir, { timeoutMs: 120_000 })).publishModel(QWEN);
    const row = `[data-testid="shard-row"][data-model="${QWEN}"]`;
    await page.waitForSelector(`${row} [data-testid="shard-cid"][title="${published.cid}"]`, { timeout: 30_000 });
    expect(await page.textContent(`${row} [data-testid="shard-cell"][data-peer="alice"]`)).toMatch(/pinned/);
    expect(await page.textContent(`${row} [data-testid="shard-cell"][data-peer="bob"]`)).not.toMatch(/pinned/);
    expect(await page.textContent(`${row} [data-testid="ipfs-copies"]`)).toMatch(/^1\/\d+$/);
    await shot(page, "shards");

    await openTab(page, "jobs", "page-jobs");
    await page.waitForSelector('[data-testid="no-jobs"]');

    await openTab(page, "node", "page-node");
    await page.waitForSelector('[data-testid="policies"]');
    // How its votes are merged, as the shipped inference policy says.
    const exponent = loadInferencePolicy(inferencePolicyFile).reducer.confidence_exponent;
    expect(await page.textContent('[data-testid="policies"]')).toContain(`weighted_consensus, votes × confidence^${exponent}, min agreement 50%, quorum early`);
    expect(await page.textContent('[data-testid="agent-key"]')).toBe(aliceStatus.agentPubKey);
    expect(await page.textContent('[data-testid="peer-id"]')).toBe(aliceStatus.peerId);
    await shot(page, "node");

    await openTab(page, "console", "page-console");
    await page.waitForSelector('[data-testid="console-submit"]');

    await openTab(page, "peers", "page-peers");
    await page.waitForSelector('[data-testid="peer-row"][data-peer="bob"][data-online="true"]');
    await shot(page, "peers");
    expect(errors).toEqual([]);
  });

  it("shows a model pull on the Shards page as it happens, and the pulled model on disk, without a reload", async () => {
    // bob publishes Gemma; alice pulls it under another name (her own models directory).
    const a = await LocalApiClient.forDataDir(alice.dataDir, { timeoutMs: 120_000 });
    const published = await (await LocalApiClient.forDataDir(bob.dataDir, { timeoutMs: 120_000 })).publishModel(GEMMA);
    await waitFor("alice sees bob's Gemma", async () => ((await a.shards({})).some((r) => r.cid === published.cid && r.replicas >= 1) ? true : undefined), { timeoutMs: 60_000 });
    await openTab(page, "shards", "page-shards");
    const pulled = await a.pullModel({ ref: published.cid, name: "gemma-copy" });
    expect(pulled).toMatchObject({ name: "gemma-copy", sha256: published.sha256, alreadyPresent: false });
    const row = '[data-testid="pull-row"][data-model="gemma-copy"]';
    await page.waitForSelector(`${row}[data-status="done"]`, { timeout: 15_000 });
    const mb = `${Math.round(published.size / 1e6)} MB`; // format.ts formatBytes: 253 MB
    expect(await page.textContent(row)).toContain(`${mb} of ${mb}`);
    expect(await page.textContent(row)).toContain(published.cid.slice(0, 9));
    // model:pulled made the page read this node's models again: the copy is on disk here. One row per
    // file: alice's copy is bob's Gemma under another name (alice's models directory also has the
    // file under bob's name), with bob's CID and bob pinning it.
    const copy = `[data-testid="shard-row"][data-sha256="${published.sha256}"]`;
    await page.waitForSelector(`${copy} [data-testid="shard-aliases"]:has-text("gemma-copy"), ${copy}[data-model="gemma-copy"]`, { timeout: 15_000 });
    expect(await page.locator(copy).count()).toBe(1);
    expect(await page.textContent(`${copy} [data-testid="shard-cell"][data-peer="alice"]`)).toContain("on disk");
    // The CID and bob's pin come with the page's next shards read (model:pulled starts one).
    await page.waitForSelector(`${copy} [data-testid="shard-cid"]:text-is("${published.cid.slice(0, 8)}…${published.cid.slice(-6)}")`, { timeout: 15_000 });
    expect(await page.textContent(`${copy} [data-testid="shard-cell"][data-peer="bob"]`)).toContain("pinned");
    await page.evaluate("window.scrollTo(0, 0)");
    await shot(page, "shards-pulls");
    expect(await page.evaluate("window.__sameDocument")).toBe(true);
    expect(errors).toEqual([]);
  });

  it("streams an MOE prompt from the Console, then shows the answer and its votes; the job is on the Jobs page", async () => {
    await openTab(page, "console", "page-console");
    await page.fill('[data-testid="console-prompt"]', "What is the capital of France?");
    await page.fill('[data-testid="console-experts"]', "3");
    // Records, in the page, every change of the streamed text and when the votes appear.
    await page.evaluate(`
      window.__seen = [];
      new MutationObserver(() => {
        const texts = [...document.querySelectorAll('[data-testid="slot-text"]')].map((e) => e.textContent ?? "");
        window.__seen.push({ t: performance.now(), len: texts.join("").length, votes: document.querySelector('[data-testid="votes"]') !== null });
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    `);
    const submitted = Date.now();
    await page.click('[data-testid="console-submit"]');
    await page.waitForSelector('[data-testid="console-outcome"] [data-testid="votes"]', { timeout: 300_000 });
    console.log(`[ui-browser] MOE answered in the console after ${((Date.now() - submitted) / 1000).toFixed(1)} s`);

    const seen = (await page.evaluate("window.__seen")) as Array<{ t: number; len: number; votes: boolean }>;
    const beforeVotes = seen.filter((s) => !s.votes);
    const lengths = [...new Set(beforeVotes.map((s) => s.len).filter((l) => l > 0))];
    // Tokens arrived while the job ran, in more than one step, before the votes were shown.
    expect(lengths.length, JSON.stringify(seen.slice(0, 40))).toBeGreaterThanOrEqual(2);
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b));

    const answer = (await page.textContent('[data-testid="console-outcome"] [data-testid="final-answer"]')) ?? "";
    console.log(`[ui-browser] answer: ${JSON.stringify(answer)}`);
    expect(answer.toLowerCase()).toContain("paris");
    const votes = await page.locator('[data-testid="console-outcome"] [data-testid="vote-row"]').count();
    expect(votes).toBeGreaterThanOrEqual(2);
    expect(await page.locator('[data-testid="console-outcome"] [data-testid="vote-row"][data-agreed="true"]').count()).toBeGreaterThanOrEqual(1);
    const trace = (await page.textContent('[data-testid="console-outcome"] [data-testid="trace-id"]'))!;
    expect(trace).toMatch(/^[0-9a-f-]{36}$/);
    // Diversity: on two nodes, bob (the only remote peer) holding more than ⌊(k−1)/2⌋ of the job's k
    // slots (answered or cancelled by early quorum) is shown as insufficient.
    const onBob = await page.locator('[data-testid="console-outcome"] [data-testid="vote-row"]', { hasText: "bob" }).count();
    const slots = votes + (await page.locator('[data-testid="console-outcome"] [data-testid="cancelled-slot"]').count());
    const diversity = await page.textContent('[data-testid="console-outcome"] [data-testid="diversity"]');
    expect(diversity).toMatch(onBob > Math.floor((slots - 1) / 2) ? /^insufficient/ : onBob > 0 ? /^ok/ : /^local/);
    await shot(page, "console");

    // The Peers page now shows what alice measured of bob next to what bob claims.
    if (onBob > 0) {
      await openTab(page, "peers", "page-peers");
      // The page reads /v1/peers every few seconds: wait for a read made after the job.
      await page.locator('[data-testid="peer-row"][data-peer="bob"] [data-testid="peer-speed"]', { hasText: /observed \d/ }).waitFor({ timeout: 20_000 });
      expect(await page.textContent('[data-testid="peer-row"][data-peer="bob"] [data-testid="peer-speed"]')).toMatch(/claimed[\s\S]*observed \d/);
    }

    // The same job, from the daemon's history, on the Jobs page and its detail page.
    await openTab(page, "jobs", "page-jobs");
    await page.waitForSelector(`[data-testid="job-row"][data-trace="${trace}"][data-status="done"]`, { timeout: 10_000 });
    await shot(page, "jobs");
    await page.click(`[data-testid="job-row"][data-trace="${trace}"] a`);
    await page.waitForSelector('[data-testid="page-job-detail"] [data-testid="votes"]');
    expect((await page.textContent('[data-testid="page-job-detail"] [data-testid="final-answer"]'))?.toLowerCase()).toContain("paris");
    expect(await page.textContent('[data-testid="page-job-detail"] [data-testid="trace-id"]')).toBe(trace);
    // Every slot has a panel: the answered ones and those cancelled once the outcome was decided (quorum: early).
    const cancelled = await page.locator('[data-testid="page-job-detail"] [data-testid="cancelled-slot"]').count();
    expect(await page.locator('[data-testid="page-job-detail"] [data-testid="slot-stream"]').count()).toBe(votes + cancelled);
    // Each expert's panel says it answered (moe:answer events, or the result's votes).
    expect(await page.locator('[data-testid="page-job-detail"] [data-testid="slot-stream"].stream-done').count()).toBe(votes);
    await shot(page, "job-detail");
    expect(errors).toEqual([]);
  });

  it("streams a single model's answer into the Console as it is generated", async () => {
    await openTab(page, "console", "page-console");
    await page.click('label:has([data-testid="console-mode-ask"])');
    await page.selectOption('[data-testid="console-model"]', "qwen2.5-coder-0.5b-instruct-q4_k_m");
    await page.fill('[data-testid="console-prompt"]', "Write a short poem about rivers.");
    const lengths: number[] = [];
    await page.click('[data-testid="console-submit"]');
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const len = ((await page.textContent('[data-testid="console-run"] [data-testid="stream"]').catch(() => "")) ?? "").length;
      if (len > 0 && len !== lengths.at(-1)) lengths.push(len);
      if (await page.locator('[data-testid="ask-result"]').count()) break;
      await page.waitForTimeout(50);
    }
    await page.waitForSelector('[data-testid="ask-result"]', { timeout: 5000 });
    // Observed growing at least twice before the final result arrived.
    expect(lengths.length, JSON.stringify(lengths)).toBeGreaterThanOrEqual(3);
    expect(await page.textContent('[data-testid="ask-result"]')).toMatch(/alice|bob/);
    expect(errors).toEqual([]);
  });

  it("lists on bob's Jobs page, live, the slot he serves for alice", async () => {
    const bobPage = await browser!.newPage({ viewport: { width: 1280, height: 860 } });
    const bobErrors = watchErrors(bobPage);
    try {
      await bobPage.goto(`${(await statusOf(bob)).api!}/#/jobs`);
      await bobPage.waitForSelector('[data-testid="page-jobs"]');
      const before = await bobPage.locator('[data-testid="served-row"][data-requester="alice"][data-status="answered"]').count();
      const asked = await (await LocalApiClient.forDataDir(alice.dataDir, { timeoutMs: 120_000 })).ask({ model: QWEN, prompt: "What is 2 + 2? Answer with a number.", max_tokens: 8, temperature: 0, peer: "bob" });
      expect(asked.peer).toBe("bob");
      // No reload: the worker's events make the page read /v1/jobs/served again.
      // (A locator, not waitForFunction: the page's CSP refuses the eval a string predicate needs once it polls.)
      await bobPage.locator('[data-testid="served-row"][data-requester="alice"][data-status="answered"]').nth(before).waitFor({ timeout: 15_000 });
      const row = bobPage.locator('[data-testid="served-row"][data-requester="alice"][data-status="answered"]').first();
      expect(await row.textContent()).toContain(String(asked.tokens));
      await shot(bobPage, "jobs-served");
      expect(bobErrors).toEqual([]);
    } finally {
      await bobPage.close();
    }
  });

  it("shows a SIGKILLed peer offline on the Peers page within the liveness window, without a reload", async () => {
    await openTab(page, "peers", "page-peers");
    await page.waitForSelector('[data-testid="peer-row"][data-peer="bob"][data-online="true"]');
    const children = childrenOf(bob.pid);
    const killedAt = Date.now();
    killNodeHard(bob.pid, children);
    await page.waitForSelector('[data-testid="peer-row"][data-peer="bob"][data-online="false"]', { timeout: livenessWindowMs + 10_000 });
    const afterMs = Date.now() - killedAt;
    console.log(`[ui-browser] bob shown offline ${(afterMs / 1000).toFixed(1)} s after SIGKILL (window ${livenessWindowMs / 1000} s)`);
    // The daemon judges liveness every second and the event reaches the page at once.
    expect(afterMs).toBeLessThan(livenessWindowMs + 4000);
    expect(await page.getAttribute('[data-testid="topology"] [data-peer="bob"]', "data-online")).toBe("false");
    expect(await page.evaluate("window.__sameDocument === true")).toBe(true);
    await shot(page, "peers-offline");
    expect(errors).toEqual([]);
  });

  it("says the daemon is unreachable when it stops, and keeps trying to reconnect", async () => {
    await alice.kill("SIGTERM");
    await page.waitForSelector('[data-testid="connection-banner"][data-state="unreachable"]', { timeout: 15_000 });
    expect(await page.textContent('[data-testid="connection-banner"]')).toMatch(/Reconnecting (in \d+ s|now) \(attempt \d+\)/);
    // The last known state stays on screen under the banner.
    expect(await page.locator('[data-testid="peer-row"]').count()).toBe(2);
    await shot(page, "unreachable");
    // Failed reconnects are expected now, and so is a request that was in flight when the daemon
    // went away (aborted, reset, its socket gone, or answered with nothing); nothing else may have gone wrong.
    const expectedWhileDown = /ERR_CONNECTION_REFUSED|ERR_ABORTED|ERR_CONNECTION_RESET|ERR_SOCKET_NOT_CONNECTED|ERR_EMPTY_RESPONSE|WebSocket connection|Failed to load resource/;
    expect(errors.filter((e) => !expectedWhileDown.test(e))).toEqual([]);
  });
});
