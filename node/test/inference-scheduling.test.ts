// When the engine runs what: threads from the free cores, the FIFO concurrency gate, and idle
// unload (a model that served nothing for idleUnloadMs gives its memory back).
import { availableParallelism } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeBudgets, type InferenceStatus } from "@ripple-mesh/api-types";
import { resolveBatching } from "../src/inference/batching.ts";
import { ConcurrencyGate } from "../src/inference/concurrency-gate.ts";
import { freeCoreThreads, InferenceEngine } from "../src/inference/inference-engine.ts";
import { complete, expectCode, resolver, silent, tinyAs } from "./support/inference-fixtures.ts";

describe("freeCoreThreads", () => {
  it("takes the cores the load leaves free, keeps one for the conductor, and never goes below 1", () => {
    expect(freeCoreThreads({ cores: 2, load: 0.1 })).toBe(1);
    expect(freeCoreThreads({ cores: 8, load: 0.5 })).toBe(7);
    expect(freeCoreThreads({ cores: 8, load: 3.4 })).toBe(4);
    expect(freeCoreThreads({ cores: 8, load: 30 })).toBe(1);
    expect(freeCoreThreads({ cores: 1, load: 0 })).toBe(1);
    expect(freeCoreThreads({ cores: 4, load: 0, reserve: 0 })).toBe(4);
    const here = freeCoreThreads();
    expect(here).toBeGreaterThanOrEqual(1);
    expect(here).toBeLessThanOrEqual(Math.max(1, availableParallelism() - 1));
  });
});

describe("batching: how a model's concurrent requests run", () => {
  it("auto batches them in one context when more than one may run at once, on any backend; on and off force it", () => {
    expect(resolveBatching("auto", 8)).toMatchObject({ mode: "shared-context", reason: "up to 8 requests at once: those on one model decode in one batch" });
    expect(resolveBatching("auto", 1)).toMatchObject({ mode: "shared-context", reason: expect.stringMatching(/one request at a time.*keeps the prompts/) });
    expect(resolveBatching("on", 1).mode).toBe("shared-context");
    expect(resolveBatching("off", 8).mode).toBe("context-per-request");
  });

  it("`ripple status` and the Node page say it when more than one request runs at once", () => {
    const status = (maxConcurrent: number, onGpu: boolean): InferenceStatus => ({
      backend: onGpu ? "vulkan" : "cpu",
      requested: "auto",
      reason: "r",
      fix: null,
      gpu: onGpu ? { devices: ["H200"], vramTotalBytes: 2 ** 37, vramFreeBytes: 2 ** 37 } : null,
      threads: 15,
      maxConcurrent,
      memoryBudgetBytes: 2 ** 34,
      gpuMemoryBudgetBytes: onGpu ? 2 ** 36 : 0,
      batching: resolveBatching(onGpu ? "auto" : "off", maxConcurrent),
    });
    expect(describeBudgets(status(8, true))).toBe("RAM 16.0 GiB, VRAM 64.0 GiB, 15 threads, 8 at once in one batch per model");
    expect(describeBudgets(status(2, false))).toBe("RAM 16.0 GiB, 15 threads, 2 at once, a context each");
    expect(describeBudgets(status(1, false))).toBe("RAM 16.0 GiB, 15 threads, 1 at once");
  });
});

describe("ConcurrencyGate", () => {
  it("grants in FIFO order, refuses beyond the queue bound, and lets an aborted waiter leave at once", async () => {
    const gate = new ConcurrencyGate(1, 2);
    const first = await gate.acquire();
    const order: string[] = [];
    const abortB = new AbortController();
    const a = gate.acquire().then((r) => (order.push("a"), r));
    const b = gate.acquire(abortB.signal).then((r) => (order.push("b"), r));
    await expectCode(gate.acquire(), "busy");
    abortB.abort(new Error("gone"));
    await expect(b).rejects.toThrow("gone");
    expect(gate.queued).toBe(1);
    const c = gate.acquire().then((r) => (order.push("c"), r));
    first();
    first(); // releasing twice is harmless
    (await a)();
    (await c)();
    expect(order).toEqual(["a", "c"]);
    expect(gate.running).toBe(0);
    gate.close(new Error("closed"));
    await expect(gate.acquire()).rejects.toThrow("closed");
  });
});

describe("InferenceEngine idle unload (tiny model, idleUnloadMs 300)", () => {
  const idleMs = 300;
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.create({ resolveModel: resolver([tinyAs("idle")]), threads: 1, memoryBudgetBytes: 2 ** 30, maxConcurrent: 1, contextSize: 4096, idleUnloadMs: idleMs, log: silent });
  });
  afterAll(() => engine?.dispose());
  const isLoaded = () => engine.loaded().some((m) => m.name === "idle");
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function unloadedWithin(ms: number): Promise<number> {
    const start = Date.now();
    while (isLoaded()) {
      if (Date.now() - start > ms) throw new Error(`model still loaded ${ms} ms after its last request`);
      await sleep(20);
    }
    return Date.now() - start;
  }

  it("unloads a model once it has served nothing for the idle time, and loads it again on the next request", async () => {
    await engine.generate(complete("idle", "Once upon a time", 8));
    const endedAt = Date.now();
    expect(isLoaded()).toBe(true);
    await sleep(idleMs / 3);
    expect(isLoaded(), "unloaded before the idle time").toBe(true);
    await unloadedWithin(idleMs * 10);
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(idleMs - 5);
    // The next request loads it again; then the idle clock starts afresh.
    const again = await engine.generate(complete("idle", "Once upon a time", 8));
    expect(again.finishReason).toBe("length");
    expect(isLoaded()).toBe(true);
    await unloadedWithin(idleMs * 10);
  });

  it("never unloads a model while it serves a request, and starts the idle clock when the request ends", async () => {
    const abort = new AbortController();
    let settled = false;
    const running = engine.generate(complete("idle", "Once upon a time", 4000, { signal: abort.signal })).finally(() => (settled = true));
    await sleep(idleMs * 3);
    expect(settled, "the request finished too early to show anything; make it longer").toBe(false);
    expect(isLoaded(), "unloaded while serving").toBe(true);
    abort.abort();
    expect((await running).finishReason).toBe("aborted");
    const endedAt = Date.now();
    expect(isLoaded(), "unloaded at once when its request ended").toBe(true);
    await unloadedWithin(idleMs * 10);
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(idleMs - 5);
  });

  it("refuses a negative idle time", async () => {
    await expect(InferenceEngine.create({ resolveModel: resolver([]), threads: 1, memoryBudgetBytes: 2 ** 30, maxConcurrent: 1, idleUnloadMs: -1, log: silent })).rejects.toThrow(/idleUnloadMs/);
  });
});
