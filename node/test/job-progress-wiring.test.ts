// The requester's dispatch to a remote worker checks the worker's progress frames before anything
// sees them (the slot's watchdog, the event stream, the web UI): the real MeshInference wiring, over
// a libp2p seam that replays what a hostile worker sent.
import { mkdtempSync, rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { loadInferencePolicy } from "../src/config/inference-policy.ts";
import { MeshInference } from "../src/daemon/mesh-inference.ts";
import type { Dispatch } from "../src/moe/slot-runner.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";
import type { JobProgress, JobRequest } from "../src/protocol/job-protocol.ts";
import { MalformedProgressError } from "../src/protocol/job-progress.ts";
import { silent } from "./support/inference-fixtures.ts";

const dataDir = mkdtempSync("/tmp/rm-progress-wiring-");
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** A MeshInference whose remote dispatch replays `frames` as the worker's progress, then answers. */
function dispatchReplaying(frames: unknown[]): Dispatch {
  const p2p = {
    requestProgress: async (_peer: string, _protocol: string, _req: unknown, o: { onProgress: (p: unknown) => void }) => {
      for (const f of frames) o.onProgress(f);
      return { outcome: "refused", code: "failed", message: "unused" };
    },
  };
  const mesh = new MeshInference({
    dataDir,
    network: "local",
    p2p: p2p as never,
    zomes: { callZome: async () => null } as never,
    agentPubKey: new Uint8Array(39),
    peers: () => [],
    inference: { engine: {}, store: { has: () => false }, computePolicy: {}, inferencePolicy: loadInferencePolicy() } as never,
    log: silent,
    emit: () => {},
  } as never);
  return (mesh as unknown as { dispatch: Dispatch }).dispatch;
}

const remote = { self: false, peerId: "12D3KooW-mallory", name: "mallory" } as PeerInfo;
const opts = (seen: JobProgress[]) => ({ signal: new AbortController().signal, timeoutMs: 1000, idleTimeoutMs: 1000, onProgress: (p: JobProgress) => void seen.push(p) });

describe("a remote worker's progress frames", () => {
  it("pass through when well formed; a newer worker's unknown frame is dropped", async () => {
    const seen: JobProgress[] = [];
    await dispatchReplaying([{ type: "started" }, { type: "thinking" }, { type: "tokens", text: "Pa" }])(remote, {} as JobRequest, opts(seen));
    expect(seen).toEqual([{ type: "started" }, { type: "tokens", text: "Pa" }]);
  });

  it("a malformed frame ends the exchange with MalformedProgressError before it reaches anyone", async () => {
    const seen: JobProgress[] = [];
    const run = dispatchReplaying([{ type: "started" }, { type: "tokens", text: { evil: true } }, { type: "tokens", text: "late" }])(remote, {} as JobRequest, opts(seen));
    await expect(run).rejects.toBeInstanceOf(MalformedProgressError);
    expect(seen).toEqual([{ type: "started" }]);
  });
});
