// The slots this node's worker served for other nodes' jobs (worker/served-slots.ts), from the
// worker's events: started then answered or failed, refused at once; this node's own slots left
// out; bounded; requester names resolved when listed.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/log.ts";
import { ServedSlots, servedSlotsFileIn } from "../src/worker/served-slots.ts";

const SELF = "uhCAkself";
const ALICE = "uhCAkalice";

function tracker(max?: number) {
  let t = 1000;
  const served = new ServedSlots({ isSelf: (a) => a === SELF, now: () => (t += 100), ...(max ? { max } : {}) });
  return served;
}

describe("ServedSlots", () => {
  it("follows a slot from started to answered, and a refusal at once, newest first with names", () => {
    const s = tracker();
    s.observe({ type: "job:started", job: "uhCkjob1", slot: 2, epoch: 1, expert: "qwen-chat-greedy", requester: ALICE });
    expect(s.list()[0]).toMatchObject({ job: "uhCkjob1", slot: 2, epoch: 1, status: "running", expert: "qwen-chat-greedy", finished_ms: null });
    s.observe({ type: "job:answered", job: "uhCkjob1", slot: 2, epoch: 1, tokens: 12, latency_ms: 850 });
    s.observe({ type: "job:refused", job: "uhCkjob2", slot: 0, requester: ALICE, code: "busy", reason: "this node is busy" });
    const names = (a: string) => (a === ALICE ? "alice" : null);
    expect(s.list(names)).toEqual([
      { job: "uhCkjob2", slot: 0, epoch: null, requester: ALICE, requester_name: "alice", expert: null, status: "refused", code: "busy", reason: "this node is busy", tokens: null, latency_ms: null, started_ms: 1300, finished_ms: 1300 },
      { job: "uhCkjob1", slot: 2, epoch: 1, requester: ALICE, requester_name: "alice", expert: "qwen-chat-greedy", status: "answered", code: null, reason: null, tokens: 12, latency_ms: 850, started_ms: 1100, finished_ms: 1200 },
    ]);
  });

  it("marks a started slot failed with its code and reason; an end without its start (another epoch) changes nothing", () => {
    const s = tracker();
    s.observe({ type: "job:started", job: "uhCkjob1", slot: 0, epoch: 2, expert: "e", requester: ALICE });
    s.observe({ type: "job:failed", job: "uhCkjob1", slot: 0, epoch: 1, code: "cancelled", reason: "the requester left" });
    expect(s.list()[0]!.status).toBe("running");
    s.observe({ type: "job:failed", job: "uhCkjob1", slot: 0, epoch: 2, code: "cancelled", reason: "the requester left" });
    expect(s.list()[0]).toMatchObject({ status: "failed", code: "cancelled", reason: "the requester left" });
    expect(s.list()).toHaveLength(1);
  });

  it("leaves out this node's own slots, other events and malformed ones, and keeps only the last `max`", () => {
    const s = tracker(3);
    s.observe({ type: "job:started", job: "uhCkown", slot: 0, epoch: 1, expert: "e", requester: SELF });
    s.observe({ type: "job:answered", job: "uhCkown", slot: 0, epoch: 1, tokens: 1, latency_ms: 1 });
    s.observe({ type: "peer:online", job: "x", slot: 1 });
    s.observe({ type: "job:started", job: 42, slot: 0, requester: ALICE });
    s.observe({ type: "job:started", job: "uhCkjob", slot: "0", requester: ALICE });
    expect(s.list()).toEqual([]);
    for (let i = 0; i < 5; i++) s.observe({ type: "job:started", job: `uhCkjob${i}`, slot: 0, epoch: 1, expert: "e", requester: ALICE });
    expect(s.list().map((x) => x.job)).toEqual(["uhCkjob4", "uhCkjob3", "uhCkjob2"]);
  });

  describe("kept across restarts", () => {
    const dir = mkdtempSync("/tmp/rm-served-");
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const log = createLogger("served-test", "silent");

    it("reloads what was served, a slot still running at the stop as failed, and keeps the bound", () => {
      const file = servedSlotsFileIn(dir);
      const first = new ServedSlots({ isSelf: (a) => a === SELF, now: () => 5000, max: 3, persist: { file, log } });
      first.observe({ type: "job:started", job: "uhCkjob1", slot: 0, epoch: 1, expert: "e", requester: ALICE });
      first.observe({ type: "job:answered", job: "uhCkjob1", slot: 0, epoch: 1, tokens: 9, latency_ms: 400 });
      first.observe({ type: "job:refused", job: "uhCkjob2", slot: 1, requester: ALICE, code: "busy", reason: "full" });
      first.observe({ type: "job:started", job: "uhCkjob3", slot: 2, epoch: 4, expert: "e", requester: ALICE });
      expect(JSON.parse(readFileSync(file, "utf8")).slots).toHaveLength(3);
      // The node stops with job3's slot running, and starts again.
      const again = new ServedSlots({ isSelf: (a) => a === SELF, now: () => 9000, max: 3, persist: { file, log } });
      expect(again.list().map((x) => [x.job, x.status, x.code])).toEqual([
        ["uhCkjob3", "failed", "interrupted"],
        ["uhCkjob2", "refused", "busy"],
        ["uhCkjob1", "answered", null],
      ]);
      expect(again.list()[0]).toMatchObject({ reason: "this node stopped while the slot ran", finished_ms: 9000 });
      again.observe({ type: "job:started", job: "uhCkjob4", slot: 0, epoch: 1, expert: "e", requester: ALICE });
      expect(new ServedSlots({ isSelf: () => false, max: 3, persist: { file, log } }).list().map((x) => x.job)).toEqual(["uhCkjob4", "uhCkjob3", "uhCkjob2"]);
    });

    it("sets a damaged file aside and skips a damaged entry, starting with what is readable", () => {
      const file = join(dir, "broken.json");
      writeFileSync(file, "{not json");
      expect(new ServedSlots({ isSelf: () => false, persist: { file, log } }).list()).toEqual([]);
      expect(existsSync(`${file}.bad`)).toBe(true);
      const good = { job: "uhCkok", slot: 0, epoch: 1, requester: ALICE, requester_name: null, expert: "e", status: "answered", code: null, reason: null, tokens: 3, latency_ms: 10, started_ms: 1, finished_ms: 2 };
      writeFileSync(file, JSON.stringify({ version: 1, slots: [{ ...good, job: 42 }, good, { ...good, status: "stolen" }] }));
      expect(new ServedSlots({ isSelf: () => false, persist: { file, log } }).list().map((x) => x.job)).toEqual(["uhCkok"]);
    });
  });
});
