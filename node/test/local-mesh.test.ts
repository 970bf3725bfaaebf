// Three real nodes (`ripple up`, each with its own conductor) on one machine join the `local` mesh
// with no configuration: mDNS finds the peers, one node hosts the bootstrap/relay server, all list
// each other. Then the host is SIGKILLed: it goes offline in the others' view within the liveness
// window, the others elect a new host and keep seeing each other's new heartbeats (one of them with its
// conductor SIGKILLed while it starts on the new host, so its move tries again), and the killed
// node comes back with the same agent key. With two more peers SIGKILLed (their agents still in every
// peer store), a node that joins reaches every live node's view (issue #20: 10 s asked, not met yet). A libp2p
// peer with a forged binding is refused. No GPU
// here: the shipped `gpu: auto` and carol's `gpu: off` both serve on the CPU, and status says why.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { decodeHashFromBase64 } from "@holochain/client";
import { LocalApiClient } from "../src/api/api-client.ts";
import { P2pNode } from "../src/p2p/p2p-node.ts";
import { createLogger } from "../src/log.ts";
import { defaultComputePolicyFile } from "../src/config/compute-policy.ts";
import type { DaemonStatus } from "../src/daemon/daemon.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";
import { RippleDaemon } from "./support/ripple-process.ts";
import { waitFor } from "./support/wait-for.ts";
import { childRunning, childrenOf, killNodeHard, peersOf, seesOnline, statusOf } from "./support/mesh-views.ts";
import { TestFleet } from "./support/test-fleet.ts";
import { signAgentBinding } from "@ripple-mesh/zome-bindings";

const livenessWindowMs = 8000;
const fleet = new TestFleet();
const { nodes, live, diagnostics } = fleet;

const startNode = (name: string, dataDir?: string, extra: string[] = []): RippleDaemon =>
  fleet.up(name, ["--no-measure", "--liveness-window", String(livenessWindowMs), ...extra], dataDir ? { dataDir } : {});

/** Calls `artifacts` (an artifact_index zome call) back to back until stopped; counts answers and failures. */
function handoverProbe(client: LocalApiClient) {
  let running = true;
  const result = { ok: 0, failed: [] as string[] };
  const loop = (async () => {
    while (running) {
      try {
        await client.artifacts({ kind: "output" });
        result.ok++;
      } catch (err) {
        result.failed.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return result;
    },
  };
}

describe("the local mesh", { timeout: 300_000 }, () => {
  let alice: RippleDaemon, bob: RippleDaemon, carol: RippleDaemon;
  const agents = new Map<string, string>();

  it("three nodes started with no configuration all list each other online", async () => {
    const started = Date.now();
    // carol's compute policy turns the GPU off; alice and bob keep the shipped "auto".
    const carolPolicy = join(fleet.tempDir("rm-carol-policy-"), "compute_policy.yaml");
    writeFileSync(carolPolicy, readFileSync(defaultComputePolicyFile, "utf8").replace(/^  gpu: auto$/m, "  gpu: off"));
    [alice, bob, carol] = [startNode("alice"), startNode("bob"), startNode("carol", undefined, ["--compute-policy", carolPolicy])];
    await Promise.all([alice, bob, carol].map((n) => n.waitUntilRunning()));
    for (const n of [alice, bob, carol]) agents.set(n.name, (await statusOf(n)).agentPubKey!);
    const all = [...agents.values()];
    await waitFor("every node sees every other online", async () => ((await Promise.all([alice, bob, carol].map((n) => seesOnline(n, all)))).every(Boolean) ? true : undefined), { timeoutMs: 120_000, intervalMs: 250, diagnostics });
    console.log(`[local-mesh] 3 nodes up and all visible to each other ${((Date.now() - started) / 1000).toFixed(1)} s after start`);

    const statuses = await Promise.all([alice, bob, carol].map(statusOf));
    // One relay for the whole mesh, hosted by exactly one of them, and the same URL string everywhere.
    expect(new Set(statuses.map((s) => s.relayUrl)).size).toBe(1);
    expect(statuses.filter((s) => s.localHost?.self).length).toBe(1);
    // No GPU here: "auto" and "off" both serve on the CPU, and the status says which and why.
    const [a, , c] = statuses;
    expect(a!.inference).toMatchObject({ backend: "cpu", requested: "auto", gpu: null, maxConcurrent: 1 });
    expect(a!.inference!.reason).toMatch(/no GPU driver was found/);
    expect(a!.inference!.fix).toMatch(/driver/);
    expect(c!.inference).toMatchObject({ backend: "cpu", requested: "off", fix: null, reason: "inference.gpu is off in the compute policy" });
    expect(a!.inference!.memoryBudgetBytes).toBeGreaterThan(2 ** 30);
    for (const s of statuses) {
      expect(s.network).toBe("local");
      expect(["connected", "syncing"]).toContain(s.mesh.state);
      expect(s.mesh.visibleNodes).toBe(2);
    }
    await waitFor("mesh status connected everywhere", async () => ((await Promise.all([alice, bob, carol].map(statusOf))).every((s) => s.mesh.state === "connected") ? true : undefined), { timeoutMs: 60_000, intervalMs: 250, diagnostics });
  });

  it("a libp2p peer whose binding is forged is refused and never listed", async () => {
    const events: Array<{ type: string; peerId?: string; reason?: string }> = [];
    const client = await LocalApiClient.forDataDir(alice.dataDir);
    const stop = new AbortController();
    const stream = client.events({ signal: stop.signal });
    const collecting = (async () => {
      for await (const e of stream) events.push(e as (typeof events)[number]);
    })();
    // Claims to be bob's agent, but its agent signature is made by another key.
    const bobAgent = decodeHashFromBase64(agents.get("bob")!);
    const mallory = await generateKeyPair("Ed25519");
    const otherAgent = await generateKeyPair("Ed25519");
    const p2p = await P2pNode.start({ privateKey: mallory, listen: ["/ip4/127.0.0.1/tcp/0"], mdnsServiceTag: null, log: createLogger("mallory", "silent") });
    try {
      const { peerIdOf } = await import("../src/identity/libp2p-key.ts");
      const { peerBindingMessage } = await import("@ripple-mesh/zome-bindings");
      p2p.setBinding({ agentPubKey: bobAgent, agentSignature: await otherAgent.sign(peerBindingMessage(peerIdOf(mallory))), peerSignature: await signAgentBinding(mallory, bobAgent) });
      const aliceStatus = await statusOf(alice);
      const addr = aliceStatus.multiaddrs.find((a) => a.startsWith("/ip4/127.0.0.1/"))!;
      await p2p.dial(`${addr}/p2p/${aliceStatus.peerId}`).catch(() => {});
      const refused = await waitFor("alice refuses the forged binding", async () => events.find((e) => e.type === "peer:refused" && e.peerId === p2p.peerId), { timeoutMs: 20_000, intervalMs: 250 });
      expect(refused.reason).toMatch(/agent_signature/);
      await waitFor("the connection is closed", async () => (p2p.connectedPeers().includes(aliceStatus.peerId!) ? undefined : true), { timeoutMs: 10_000, intervalMs: 250 });
      expect((await peersOf(alice)).some((p) => p.peerId === p2p.peerId)).toBe(false);
    } finally {
      await p2p.stop();
      stop.abort(); // ends the event stream (a pending next() would otherwise wait for another event)
      await collecting.catch(() => {});
    }
  });

  it("a SIGKILLed host goes offline within the liveness window; the others elect a new host and still see each other", async () => {
    const statuses = await Promise.all([alice, bob, carol].map(async (n) => ({ n, s: await statusOf(n) })));
    const { n: host, s: hostStatus } = statuses.find((x) => x.s.localHost?.self)!;
    const survivors = [alice, bob, carol].filter((n) => n !== host);
    const children = childrenOf(host.pid);
    // A survivor's zome-backed route is called all through the handover: while its conductor moves
    // to the new host, calls wait for it instead of failing ("the conductor is restarting").
    const probe = handoverProbe(await LocalApiClient.forDataDir(survivors[0]!.dataDir, { timeoutMs: 120_000 }));
    // The other survivor's conductor is SIGKILLed while it starts on the new host (chaos saw a node
    // left without a conductor after that): its move must try again and bring the node back.
    const mover = survivors[1]!;
    const moverConductor = childRunning(mover.pid, "holochain");
    const killedWhileMoving = waitFor(`${mover.name}'s conductor starting on the new host`, async () => {
        const pid = childRunning(mover.pid, "holochain");
        return pid !== undefined && pid !== moverConductor ? pid : undefined;
      }, { timeoutMs: 90_000, intervalMs: 20 }).then((pid) => process.kill(pid, "SIGKILL"));
    const killedAt = Date.now();
    killNodeHard(host.pid, children);
    await host.kill("SIGKILL");

    const hostAgent = hostStatus.agentPubKey!;
    // Asked over the local API (what `ripple peers` reads), not by starting a CLI process per check:
    // on a loaded 2-core machine that alone took seconds and made this timing flaky.
    const apis = await Promise.all(survivors.map((n) => LocalApiClient.forDataDir(n.dataDir)));
    await Promise.all(
      survivors.map((n, i) =>
        waitFor(`${n.name} sees ${host.name} offline`, async () => (((await apis[i]!.peers()) as PeerInfo[]).find((p) => p.agent === hostAgent)?.online === false ? true : undefined), { timeoutMs: livenessWindowMs + 10_000, intervalMs: 250, diagnostics }),
      ),
    );
    const detectedMs = Date.now() - killedAt;
    console.log(`[local-mesh] killed host seen offline by both survivors after ${detectedMs} ms (window ${livenessWindowMs} ms)`);
    // The view flips at the window after the last ping (every 2 s) or heartbeat; checks run every 250 ms.
    expect(detectedMs).toBeLessThan(livenessWindowMs + 4000);

    const newHost = await waitFor("the survivors agree on a new host", async () => {
        const s = await Promise.all(survivors.map(statusOf));
        const urls = new Set(s.map((x) => x.relayUrl));
        return urls.size === 1 && s[0]!.relayUrl !== hostStatus.relayUrl && s.some((x) => x.localHost?.self) ? s[0]!.relayUrl : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250, diagnostics });
    expect(newHost).toMatch(/^http:\/\//);
    // New heartbeats written after the handover reach the other survivor through the new relay.
    const [one, two] = survivors as [RippleDaemon, RippleDaemon];
    const oneAgent = agents.get(one.name)!;
    const handoverAt = Date.now();
    await waitFor(`${two.name} receives ${one.name}'s heartbeats after the handover`, async () => {
        const p = (await peersOf(two)).find((x) => x.agent === oneAgent);
        return p && p.online && p.lastHeartbeatMs !== null && p.lastHeartbeatMs > handoverAt ? true : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250, diagnostics });
    await killedWhileMoving;
    expect(mover.logs.some((l) => l.msg === "could not restart the conductor on the new host; trying again")).toBe(true);
    const calls = await probe.stop();
    console.log(`[local-mesh] ${calls.ok} zome-backed calls on ${survivors[0]!.name} during the handover, ${calls.failed.length} failed`);
    expect(calls.failed).toEqual([]);
    expect(calls.ok).toBeGreaterThan(5);
  });

  it("the killed node restarts with the same agent key, its history, and joins the current host", async () => {
    const killed = nodes.find((n) => n.exitCode !== undefined && [alice, bob, carol].includes(n))!;
    const before = agents.get(killed.name)!;
    const again = startNode(killed.name, killed.dataDir);
    await again.waitUntilRunning();
    const s = await statusOf(again);
    expect(s.agentPubKey).toBe(before);
    expect(s.localHost?.self).toBe(false);
    // Its history survived: before any gossip, its own database already lists the peers it knew.
    const knownBefore = [...agents.values()];
    const view = await peersOf(again);
    for (const agent of knownBefore) expect(view.some((p) => p.agent === agent)).toBe(true);
    const others = live().filter((n) => n !== again);
    await waitFor("everyone sees the restarted node online again", async () => ((await Promise.all(others.map((n) => seesOnline(n, [before])))).every(Boolean) ? true : undefined), { timeoutMs: 60_000, intervalMs: 250, diagnostics });
  });

  it("after two peers are SIGKILLed, a node that joins is listed by every live node within 10 s", async () => {
    const testStarted = Date.now();
    // Asked over the local API, not through a CLI process per check (slow on a loaded machine).
    const api = (n: RippleDaemon) => LocalApiClient.forDataDir(n.dataDir);
    const agentOf = async (n: RippleDaemon) => ((await (await api(n)).status()) as DaemonStatus).agentPubKey!;
    // Two dead agents in every peer store and at the bootstrap server: a node started for this and
    // one of the three that does not host the relay (killing the host would move the mesh instead).
    const dave = startNode("dave");
    await dave.waitUntilRunning();
    const daveAgent = await agentOf(dave);
    const others = await Promise.all(live().filter((n) => n !== dave).map(async (n) => ({ n, s: (await (await api(n)).status()) as DaemonStatus })));
    const victim = others.find((x) => !x.s.localHost?.self)!.n;
    const viewers = live().filter((n) => n !== dave && n !== victim);
    const viewerApis = await Promise.all(viewers.map(api));
    const everyViewerLists = async (agent: string) => (await Promise.all(viewerApis.map(async (v) => ((await v.peers()) as PeerInfo[]).some((p) => p.agent === agent)))).every(Boolean);
    await waitFor("every node lists dave", async () => ((await everyViewerLists(daveAgent)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 250, diagnostics });
    for (const dead of [dave, victim]) {
      killNodeHard(dead.pid, childrenOf(dead.pid));
      await dead.kill("SIGKILL");
    }
    const frank = startNode("frank");
    const readyAt = Number((await frank.waitUntilRunning()).time);
    const frankAgent = await agentOf(frank);
    // The capability frank published reaches every live node through the DHT (the peers view lists
    // only agents whose capability it holds), while two dead agents are still in their stores.
    const seenAt = await waitFor("every live node lists frank", async () => ((await everyViewerLists(frankAgent)) ? Date.now() : undefined), { timeoutMs: 120_000, intervalMs: 250, diagnostics });
    console.log(`[local-mesh] with 2 SIGKILLed peers, a new node was listed by all ${viewers.length} live nodes ${seenAt - readyAt} ms after it reported running (this test took ${((Date.now() - testStarted) / 1000).toFixed(1)} s)`);
    // Issue #20: 10 s. The host's bootstrap front leaves the dead agents out of frank's listing (so
    // his publishes are not queued behind their connect timeouts), and the local mesh's 4 s request
    // timeout bounds the viewers' dependency fetches that pick a dead peer (README "Dead peers and the DHT").
    expect(seenAt - readyAt).toBeLessThan(10_000);
  });

  it("`ripple down` announces offline at once and stops the node", async () => {
    const target = live()[0]!;
    const targetAgent = (await statusOf(target)).agentPubKey!;
    const watcher = live()[1]!;
    const r = await target.cli(["down"]);
    expect(r.code, r.stderr).toBe(0);
    expect(target.exitCode ?? (await target.kill("SIGTERM"))).toBe(0);
    const seen = await waitFor("the watcher sees the announced offline", async () => (await peersOf(watcher)).find((p) => p.agent === targetAgent && !p.online), { timeoutMs: 30_000, intervalMs: 250, diagnostics });
    expect(seen.reason).toMatch(/announced|silent/);
  });
});
