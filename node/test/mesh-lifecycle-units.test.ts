// Lifecycle units of a mesh session that a sick conductor or a moving local mesh exercise: the
// heartbeat loop's stop is bounded when the conductor does not answer, and the first conductor start
// survives the local mesh naming another host while it starts.
import { describe, expect, it } from "vitest";
import type { Conductor } from "../src/conductor/conductor.ts";
import { HeartbeatLoop } from "../src/mesh/heartbeat-loop.ts";
import { meshWithoutSession } from "../src/mesh/mesh-status.ts";
import { MovingConductor } from "../src/mesh/moving-conductor.ts";
import { silent } from "./support/inference-fixtures.ts";

const load = { cpu_percent: 1, mem_percent: 1, gpu_percent: null } as never;

describe("the heartbeat loop's stop", () => {
  it("does not wait past its bound for a conductor that never answers", async () => {
    let calls = 0;
    let hang = false;
    const loop = new HeartbeatLoop({
      intervalMs: 20,
      publish: async () => {
        calls++;
        if (hang) await new Promise(() => {}); // a hung zome call
      },
      sampleLoad: async () => load,
      activeJobs: () => 0,
      log: silent,
      stopWaitMs: 200,
    });
    await loop.start();
    hang = true;
    await new Promise((r) => setTimeout(r, 60)); // a beat is now in flight, hung
    const t0 = performance.now();
    await loop.stop(true);
    const took = performance.now() - t0;
    // Two bounded waits (the hung beat, then the offline beat): not forever.
    expect(took).toBeLessThan(1000);
    expect(took).toBeGreaterThanOrEqual(350);
    expect(calls).toBeGreaterThanOrEqual(3); // first beat, the hung one, the offline one
  });

  it("a stop during the first beat waits for it, announces offline, and leaves no interval running", async () => {
    const statuses: string[] = [];
    const loop = new HeartbeatLoop({
      intervalMs: 20,
      publish: async (hb) => {
        await new Promise((r) => setTimeout(r, 100));
        statuses.push(hb.status);
      },
      sampleLoad: async () => load,
      activeJobs: () => 0,
      log: silent,
    });
    const starting = loop.start();
    await new Promise((r) => setTimeout(r, 10));
    await loop.stop(true);
    await starting;
    await new Promise((r) => setTimeout(r, 200));
    expect(statuses).toEqual(["online", "offline"]);
  });

  it("announces offline when the conductor answers", async () => {
    const statuses: string[] = [];
    const loop = new HeartbeatLoop({ intervalMs: 1000, publish: async (hb) => void statuses.push(hb.status), sampleLoad: async () => load, activeJobs: () => 0, log: silent });
    await loop.start();
    await loop.stop(true);
    expect(statuses).toEqual(["online", "offline"]);
  });
});

/** A conductor whose start takes `startMs` and fails when it is stopped meanwhile. */
function fakeConductor(relayUrl: string, startMs: number, started: string[]): Conductor {
  let stop: (() => void) | undefined;
  return {
    relayUrl,
    start: () =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => (started.push(relayUrl), resolve()), startMs);
        stop = () => (clearTimeout(t), reject(new Error("holochain conductor exited during start-up (signal SIGINT)")));
      }),
    stop: async () => stop?.(),
  } as unknown as Conductor;
}

describe("the conductor's first start while the local mesh moves", () => {
  it("ends on the new host instead of failing the node's start", async () => {
    const started: string[] = [];
    const moving = new MovingConductor((url) => fakeConductor(url, 100, started), silent, () => {});
    const first = moving.start("http://host-a");
    setTimeout(() => void moving.moveTo("http://host-b"), 10);
    await first;
    expect(started).toEqual(["http://host-b"]);
    expect(moving.relayUrl).toBe("http://host-b");
    expect((moving.now as unknown as { relayUrl: string }).relayUrl).toBe("http://host-b");
    await moving.stop();
  });

  it("follows a second move announced during the first", async () => {
    const started: string[] = [];
    const moving = new MovingConductor((url) => fakeConductor(url, 100, started), silent, () => {});
    const first = moving.start("http://host-a");
    setTimeout(() => void moving.moveTo("http://host-b"), 10);
    setTimeout(() => void moving.moveTo("http://host-c"), 50);
    await first;
    expect(started.at(-1)).toBe("http://host-c");
    expect((moving.now as unknown as { relayUrl: string }).relayUrl).toBe("http://host-c");
    await moving.stop();
  });

  it("still fails when the start fails on its own", async () => {
    const moving = new MovingConductor(
      () => ({ start: async () => Promise.reject(new Error("no such binary")), stop: async () => {} }) as unknown as Conductor,
      silent,
      () => {},
    );
    await expect(moving.start("http://host-a")).rejects.toThrow(/no such binary/);
  });
});

/** A started conductor whose zome calls answer `relayUrl` after `callMs`, and fail as the client does when it is stopped meanwhile. */
function answeringConductor(relayUrl: string, callMs: number): Conductor {
  const pending = new Set<(err: Error) => void>();
  return {
    relayUrl,
    start: async () => {},
    stop: async () => {
      for (const fail of pending) fail(new Error("client closed with pending requests - close event code: 1000, request id: 20"));
    },
    callZome: (req: { fn: string }) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => (pending.delete(fail), resolve(`${req.fn} on ${relayUrl}`)), callMs);
        const fail = (err: Error) => (clearTimeout(t), reject(err));
        pending.add(fail);
      }),
  } as unknown as Conductor;
}

describe("zome calls while the local mesh moves", () => {
  it("asks a read cut off by the move again of the moved conductor; a write cut off fails", async () => {
    const moving = new MovingConductor((url) => answeringConductor(url, 200), silent, () => {});
    await moving.start("http://host-a");
    const read = moving.callZome({ role: "r", zome: "z", fn: "get_my_allocations" });
    const write = moving.callZome({ role: "r", zome: "z", fn: "post_result" }).then(
      () => "written",
      (err: Error) => err.message,
    );
    await new Promise((r) => setTimeout(r, 20));
    void moving.moveTo("http://host-b");
    expect(await read).toBe("get_my_allocations on http://host-b");
    expect(await write).toMatch(/client closed with pending requests/);
    // Without a move, a read answers from the conductor it asked.
    expect(await moving.callZome({ role: "r", zome: "z", fn: "list_nodes" })).toBe("list_nodes on http://host-b");
    await moving.stop();
  });

  it("keeps a read's own error when the move queued beside it leaves the conductor where it was", async () => {
    const moving = new MovingConductor((url) => ({ ...answeringConductor(url, 0), callZome: async () => Promise.reject(new Error("zome says no")) }) as unknown as Conductor, silent, () => {});
    await moving.start("http://host-a");
    const read = moving.callZome({ role: "r", zome: "z", fn: "get_job" }).catch((err: Error) => err.message);
    void moving.moveTo("http://host-a"); // the same host: nothing moves
    expect(await read).toBe("zome says no");
    await moving.stop();
  });
});

describe("the status's mesh while the node has no mesh session", () => {
  it("says joining while the node starts or switches, not-joined otherwise, never isolated (a joined mesh that knows nobody)", () => {
    expect(meshWithoutSession("starting").state).toBe("joining");
    expect(meshWithoutSession("switching").state).toBe("joining");
    for (const phase of ["offline", "stopping", "stopped", "running"] as const) expect(meshWithoutSession(phase)).toEqual({ state: "not-joined", knownAgents: 0, visibleNodes: 0, onlineNodes: 0 });
  });
});
