// The Shards page's "Model pulls" (ui/src/lib/pulls.ts): a pull followed from its events.
import { describe, expect, it } from "vitest";
import { applyPullEvent, isPullEvent, PULLS_KEPT, type PullView } from "../src/lib/pulls.ts";

const progress = (name: string, bytes: number, total = 1000) => ({ type: "model:pull-progress" as const, name, cid: `bafy${name}`, bytes, total, percent: (bytes / total) * 100, mbps: 40 });

describe("model pulls from events", () => {
  it("follows a pull from progress to done, newest first", () => {
    let pulls: PullView[] = [];
    pulls = applyPullEvent(pulls, progress("qwen", 100), 1);
    pulls = applyPullEvent(pulls, progress("gemma", 10), 2);
    pulls = applyPullEvent(pulls, progress("qwen", 600), 3);
    expect(pulls.map((p) => [p.name, p.status, p.bytes])).toEqual([
      ["qwen", "pulling", 600],
      ["gemma", "pulling", 10],
    ]);
    pulls = applyPullEvent(pulls, { type: "model:pulled", name: "qwen", cid: "bafyqwen", sha256: "a".repeat(64), bytes: 1000, transferMs: 500, directBytes: 1000, from: ["alice"] }, 4);
    expect(pulls[0]).toEqual({ name: "qwen", cid: "bafyqwen", status: "done", bytes: 1000, total: 1000, mbps: 0, error: null, fix: null, updatedAt: 4 });
  });

  it("says why a pull failed, under the ref when no name was resolved, and starts afresh on a new pull", () => {
    let pulls = applyPullEvent([], progress("gemma", 10), 1);
    pulls = applyPullEvent(pulls, { type: "model:pull-failed", ref: "gemma", name: "gemma", error: "no online peer verifiably provides gemma", fix: "start a node that serves it" }, 2);
    expect(pulls[0]).toMatchObject({ name: "gemma", status: "failed", bytes: 10, error: expect.stringContaining("no online peer"), fix: "start a node that serves it" });
    pulls = applyPullEvent(pulls, { type: "model:pull-failed", ref: "bafyunknown", name: null, error: "artifact_index has no model", fix: null }, 3);
    expect(pulls[0]).toMatchObject({ name: "bafyunknown", status: "failed" });
    pulls = applyPullEvent(pulls, progress("gemma", 20), 4);
    expect(pulls[0]).toMatchObject({ name: "gemma", status: "pulling", bytes: 20, error: null, fix: null });
    expect(pulls).toHaveLength(2);
  });

  it("keeps the last ten, and tells pull events from the others", () => {
    let pulls: PullView[] = [];
    for (let i = 0; i < PULLS_KEPT + 3; i++) pulls = applyPullEvent(pulls, progress(`m${i}`, 1), i);
    expect(pulls).toHaveLength(PULLS_KEPT);
    expect(pulls[0]!.name).toBe(`m${PULLS_KEPT + 2}`);
    expect(isPullEvent(progress("x", 1))).toBe(true);
    expect(isPullEvent({ type: "model:loaded", model: {} as never })).toBe(false);
  });
});
