// The web UI of a node whose API requires a token (RIPPLE_API_TOKEN; required beyond loopback), in a
// real browser (Debian's Chromium through playwright-core) against a real daemon: the page loads
// without the token and asks for it, names a wrong one as not accepted, and with the right one shows
// the node with its event stream open (the WebSocket carries the token too) and loads and unloads a
// model from the Node page (POSTs carry it too); a reload in the same tab keeps it, a new tab asks again.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { repoRoot } from "../src/config/paths.mjs";
import { statusOf } from "./support/mesh-views.ts";
import { TestFleet } from "./support/test-fleet.ts";

const chromiumPath = process.env.RIPPLE_CHROMIUM ?? "/usr/bin/chromium";
const TOKEN = "ui-token-test-".padEnd(40, "x");
let browser: Browser | undefined;
const fleet = new TestFleet(async () => browser?.close());

/** Console errors other than the browser's own line for each refused (401) request. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 401/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

describe("the web UI of a node that requires an API token", { timeout: 300_000 }, () => {
  let url: string;

  beforeAll(async () => {
    expect(existsSync(chromiumPath), `${chromiumPath} is missing: run \`npm run setup\``).toBe(true);
    expect(existsSync(join(repoRoot, "ui", "dist", "index.html")), "ui/dist is not built: run `npm run setup`").toBe(true);
    const node = fleet.up("gated", ["--no-measure"], { dataDir: fleet.tempDir("rm-ui-token-"), env: { RIPPLE_API_TOKEN: TOKEN } });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    await node.waitUntilRunning();
    url = (await statusOf(node)).api!;
  }, 240_000);
  afterAll(() => browser?.close());

  it("asks for the token, refuses a wrong one, and opens the node with the right one", async () => {
    const page = await browser!.newPage();
    const errors = watchErrors(page);
    // Without the token the API refuses, but the page itself loads.
    expect((await fetch(`${url}/v1/status`)).status).toBe(401);
    await page.goto(`${url}/`);
    await page.waitForSelector('[data-testid="token-gate"]');
    expect(await page.textContent('[data-testid="token-gate-message"]')).toContain("this API requires a token");
    expect(await page.locator('[data-testid="page-peers"]').count()).toBe(0);

    await page.fill('[data-testid="token-input"]', "not-the-token-but-long-enough-xxxxxxxx");
    await page.click('[data-testid="token-submit"]');
    await page.waitForSelector('[data-testid="token-gate-message"]:has-text("the API token was not accepted")');

    await page.fill('[data-testid="token-input"]', TOKEN);
    await page.click('[data-testid="token-submit"]');
    await page.waitForSelector('[data-testid="peer-row"][data-peer="gated"]', { timeout: 30_000 });
    expect(await page.locator('[data-testid="token-gate"]').count()).toBe(0);
    // The pill reads "no contact" until the event stream (a WebSocket, token in its query) is open.
    // (Polled from here: the page's CSP refuses the eval a waitForFunction string predicate needs.)
    await expect.poll(async () => (await page.textContent('[data-testid="whoami"]')) ?? "", { timeout: 15_000 }).not.toContain("no contact");
    expect(await page.textContent('[data-testid="whoami"]')).toContain("gated");

    // The Node page lists this node's models; loading one is a POST that carries the token too.
    await page.click('[data-testid="nav-node"]');
    const tiny = '[data-testid="local-model"][data-model="ripple-tiny-test"]';
    await page.waitForSelector(`${tiny}[data-loaded="false"]`, { timeout: 15_000 });
    await page.click(`${tiny} [data-testid="model-toggle"]`);
    await page.waitForSelector(`${tiny}[data-loaded="true"]`, { timeout: 60_000 });
    await page.click(`${tiny} [data-testid="model-toggle"]`);
    await page.waitForSelector(`${tiny}[data-loaded="false"]`, { timeout: 30_000 });
    await page.click('[data-testid="nav-peers"]');

    // Same tab: a reload keeps the token (sessionStorage). A new tab asks again.
    await page.reload();
    await page.waitForSelector('[data-testid="peer-row"][data-peer="gated"]', { timeout: 30_000 });
    const other = await browser!.newPage();
    await other.goto(`${url}/`);
    await other.waitForSelector('[data-testid="token-gate"]');
    expect(errors).toEqual([]);
  });
});
