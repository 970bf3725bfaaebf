// Accounting without a conductor: the file of results waiting to be written (atomic, 0600,
// reloaded, a damaged file set aside), GET /v1/accounting's query checks over a real loopback API,
// and the `ripple accounting` table. The zome-level rules (one record per counted assignment,
// idempotent writes, a resumed write after a restart) are in tryorama-tests/src/job-assignment.test.ts.
import { EventEmitter } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { AccountingView } from "@ripple-mesh/api-types";
import { startLocalApi } from "../src/api/local-api.ts";
import { formatAccounting } from "../src/cli/commands/accounting.ts";
import { createLogger } from "../src/log.ts";
import { MAX_PENDING_RESULTS, PendingResults, type PendingResult } from "../src/worker/pending-results.ts";

const log = createLogger("test", "silent");
const dir = mkdtempSync(join(tmpdir(), "rm-accounting-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hash = (n: number) => `uhCkk${String(n).padStart(48, "A")}`;
const pending = (n: number): PendingResult => ({
  job: hash(n),
  assignment: hash(n + 1_000_000),
  output: `answer ${n}`,
  outputCid: null,
  responseHash: "a".repeat(64),
  tokens: 3,
  latencyMs: 42,
  modelSha256: "b".repeat(64),
  producedAt: 1_700_000_000_000 + n,
});

describe("results waiting to be written", () => {
  it("persist atomically (0600) and come back in a new store on the same file", () => {
    const file = join(dir, "pending-a.json");
    const before = new PendingResults(file, log);
    before.put(pending(1));
    before.put(pending(2));
    before.put(pending(1)); // the same assignment again: replaced, not added
    before.remove(pending(2));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}.tmp`)).toBe(false);
    const after = new PendingResults(file, log);
    expect(after.list()).toEqual([pending(1)]);
    expect(after.has(pending(1))).toBe(true);
  });

  it("set a damaged file aside instead of trusting it", () => {
    const file = join(dir, "pending-b.json");
    writeFileSync(file, JSON.stringify({ version: 1, pending: [{ ...pending(1), tokens: -1 }] }));
    expect(new PendingResults(file, log).list()).toEqual([]);
    expect(existsSync(`${file}.bad`)).toBe(true);
  });

  it(`keep at most ${MAX_PENDING_RESULTS}, dropping the oldest`, () => {
    const store = new PendingResults(undefined, log);
    for (let n = 0; n <= MAX_PENDING_RESULTS; n++) store.put(pending(n));
    expect(store.list()).toHaveLength(MAX_PENDING_RESULTS);
    expect(store.has(pending(0))).toBe(false);
  });

  it("when full, drop the oldest of the requester with the most waiting: four flooding keys cannot push out an honest requester's", () => {
    const store = new PendingResults(undefined, log);
    const of = (who: string, n: number): PendingResult => ({ ...pending(n), requester: `uhCAk${who.repeat(48)}` });
    for (let n = 0; n < 10; n++) store.put(of("H", n)); // honest, and oldest
    for (const who of ["S", "T", "U", "V"]) for (let n = 0; n < 500; n++) store.put(of(who, 1000 * who.charCodeAt(0) + n));
    expect(store.list()).toHaveLength(MAX_PENDING_RESULTS);
    expect(store.list().filter((r) => r.requester === `uhCAk${"H".repeat(48)}`)).toHaveLength(10);
  });
});

describe("GET /v1/accounting", () => {
  const agent = `uhCAk${"Q".repeat(48)}`;
  const view: AccountingView = {
    agents: [
      { agent, name: "alice", self: true, records: 0, tokens: 0, served_ms: 0 },
      { agent: `uhCAk${"R".repeat(48)}`, name: "bob", self: false, records: 2, tokens: 57, served_ms: 1_250 },
    ],
    pending_writes: 1,
  };

  it("answers with the source's view, passes a valid agent on, and refuses a malformed one", async () => {
    const asked: Array<{ agent?: string }> = [];
    const api = await startLocalApi({
      log,
      source: { status: async () => ({}), peers: async () => [], shutdown: async () => {}, events: new EventEmitter(), accounting: () => ({ view: async (q) => (asked.push(q), view) }) },
    });
    try {
      expect(await (await fetch(`${api.url}/v1/accounting`)).json()).toEqual(view);
      expect((await fetch(`${api.url}/v1/accounting?agent=${agent}`)).status).toBe(200);
      expect(asked).toEqual([{}, { agent }]);
      const bad = await fetch(`${api.url}/v1/accounting?agent=bob`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { fix: string } }).error.fix).toMatch(/agent key/);
    } finally {
      await api.close();
    }
  });

  it("is 503 while the node is not in a mesh", async () => {
    const api = await startLocalApi({ log, source: { status: async () => ({}), peers: async () => [], shutdown: async () => {}, events: new EventEmitter(), accounting: () => undefined } });
    try {
      expect((await fetch(`${api.url}/v1/accounting`)).status).toBe(503);
    } finally {
      await api.close();
    }
  });

  it("prints one row per agent, this node marked, and the writes still waiting", () => {
    const text = formatAccounting(view);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^AGENT\s+KEY\s+JOBS\s+TOKENS\s+SERVED$/);
    expect(lines[1]).toMatch(/^alice \(this node\)\s+uhCAkQ+…\s+0\s+0\s+0\.0 s$/);
    expect(lines[2]).toMatch(/^bob\s+uhCAkR+…\s+2\s+57\s+1\.3 s$/);
    expect(lines[3]).toBe("1 result(s) of this node wait to be written");
  });
});
