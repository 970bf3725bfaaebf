// The worker's result writes: each result a worker produced is retried until its assignment reaches
// this node through the DHT. Requests carry a peer's job and assignment hashes, so a requester can
// make a worker produce results whose assignments never arrive: their retries must end when the
// pending list (bounded) drops them, not a day later.
import { encodeHashToBase64 } from "@holochain/client";
import { describe, expect, it } from "vitest";
import type { ZomeCaller } from "@ripple-mesh/zome-bindings";
import { ResultWriter } from "../src/worker/result-writer.ts";
import { MAX_PENDING_PER_REQUESTER, MAX_PENDING_RESULTS } from "../src/worker/pending-results.ts";
import { silent } from "./support/inference-fixtures.ts";

const hash = (prefix: string, i: number) => `uhCkk${prefix}${String(i).padStart(47, "0")}`;

describe("result writes whose assignment never arrives", () => {
  it("end when the bounded pending list drops them; the rest keep retrying", async () => {
    const calls = new Map<string, number>();
    const zomes: ZomeCaller = {
      callZome: async <T>(req: { payload?: unknown }): Promise<T> => {
        const assignment = encodeHashToBase64((req.payload as { assignment: Uint8Array }).assignment);
        calls.set(assignment, (calls.get(assignment) ?? 0) + 1);
        throw new Error("the assignment is not on this node yet");
      },
    };
    const writer = new ResultWriter({ zomes, log: silent, maxRetryDelayMs: 20 });
    const total = MAX_PENDING_RESULTS + 50;
    const assignments: string[] = [];
    for (let i = 0; i < total; i++) {
      const assignment = hash("A", i);
      assignments.push(assignment);
      writer.write({ job: hash("J", i), assignment, output: "x", responseHash: "a".repeat(64), tokens: 1, latencyMs: 1, modelSha256: "m" });
    }
    expect(writer.pending).toBe(MAX_PENDING_RESULTS);
    await new Promise((r) => setTimeout(r, 1500));
    const dropped = assignments.slice(0, 50).map((a) => calls.get(a) ?? 0);
    const kept = calls.get(assignments.at(-1)!) ?? 0;
    // A dropped result was tried at most once (its first attempt ran before the drop).
    expect(Math.max(...dropped)).toBeLessThanOrEqual(1);
    expect(kept).toBeGreaterThan(3);
    await writer.stop(100);
  });

  it("a dropped result (its assignment, read, does not back it) stops being retried and is never written", async () => {
    let calls = 0;
    const zomes: ZomeCaller = { callZome: async () => (calls++, Promise.reject(new Error("the assignment is not on this node yet"))) };
    const writer = new ResultWriter({ zomes, log: silent, maxRetryDelayMs: 20 });
    const r = { job: hash("J", 1), assignment: hash("A", 1), output: "x", responseHash: "a".repeat(64), tokens: 1, latencyMs: 1, modelSha256: "m" };
    writer.write(r);
    await new Promise((res) => setTimeout(res, 100));
    writer.drop(r, "names another worker");
    expect(writer.pending).toBe(0);
    const then = calls;
    await new Promise((res) => setTimeout(res, 300));
    expect(calls - then).toBeLessThanOrEqual(1); // at most the attempt already under way
    await writer.stop(10);
  });

  it("one requester's flood pushes out its own oldest results, not another requester's", async () => {
    const zomes: ZomeCaller = { callZome: async () => Promise.reject(new Error("the assignment is not on this node yet")) };
    const writer = new ResultWriter({ zomes, log: silent, maxRetryDelayMs: 1000 });
    const result = (who: string, i: number) => ({ job: hash("J", i), assignment: hash(who, i), output: "x", responseHash: "a".repeat(64), tokens: 1, latencyMs: 1, modelSha256: "m", requester: `uhCAk${who.repeat(48)}` });
    for (let i = 0; i < 10; i++) writer.write(result("H", i));
    for (let i = 0; i < MAX_PENDING_PER_REQUESTER + 100; i++) writer.write(result("M", i));
    expect(writer.pending).toBe(MAX_PENDING_PER_REQUESTER + 10);
    await writer.stop(10);
  });
});
