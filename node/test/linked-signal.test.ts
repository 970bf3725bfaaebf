// Linked abort signals: what AbortSignal.any does, without keeping every linked signal alive for as
// long as its longest-lived source (Node 20; linked-signal.ts says what it cost).
import { getEventListeners } from "node:events";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { linkSignals, withLinkedSignal } from "../src/linked-signal.ts";

const listeners = (s: AbortSignal) => getEventListeners(s, "abort").length;

describe("linked signals", () => {
  it("aborts with the reason of whichever source aborts first, and lets go of the others", () => {
    const session = new AbortController();
    const request = new AbortController();
    const link = linkSignals(session.signal, undefined, request.signal);
    expect(link.signal.aborted).toBe(false);
    expect([listeners(session.signal), listeners(request.signal)]).toEqual([1, 1]);
    const why = new Error("the client went away");
    request.abort(why);
    expect(link.signal.aborted).toBe(true);
    expect(link.signal.reason).toBe(why);
    expect(listeners(session.signal)).toBe(0);
  });

  it("disposeAfter keeps the link while the work it outlives runs, then lets go", async () => {
    const session = new AbortController();
    const link = linkSignals(session.signal);
    let finish: () => void = () => {};
    const writing = new Promise<void>((r) => (finish = r));
    link.disposeAfter(writing);
    await new Promise((r) => setImmediate(r));
    expect(listeners(session.signal)).toBe(1);
    finish();
    await new Promise((r) => setImmediate(r));
    expect(listeners(session.signal)).toBe(0);
  });

  it("is aborted at once when a source already is", () => {
    const done = AbortSignal.abort(new Error("stopped"));
    const session = new AbortController();
    const link = linkSignals(session.signal, done);
    expect(link.signal.aborted).toBe(true);
    expect((link.signal.reason as Error).message).toBe("stopped");
    expect(listeners(session.signal)).toBe(0);
  });

  it("a long-lived source holds nothing of 10,000 finished operations", async () => {
    const session = new AbortController();
    for (let i = 0; i < 10_000; i++) {
      await withLinkedSignal([session.signal, AbortSignal.timeout(60_000)], async (signal) => {
        signal.addEventListener("abort", () => {}); // as fetch and libp2p do
      });
    }
    expect(listeners(session.signal)).toBe(0);
    // Still linked while an operation runs.
    const running = withLinkedSignal([session.signal], (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))));
    session.abort(new Error("the node is stopping"));
    await expect(running).rejects.toThrow("the node is stopping");
  });

  it("node/src links signals only this way (AbortSignal.any leaks with a long-lived source on Node 20)", () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|mjs)$/.test(name) && !name.startsWith("linked-signal.") && readFileSync(path, "utf8").includes("AbortSignal.any(")) offenders.push(path);
      }
    };
    walk(join(import.meta.dirname, "..", "src"));
    expect(offenders).toEqual([]);
  });
});
