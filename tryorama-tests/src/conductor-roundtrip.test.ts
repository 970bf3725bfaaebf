// The whole path: Rust → wasm → DNA → hApp → installed by the supervisor in a real conductor →
// called from TypeScript, with the integrity zome's validation enforced by that conductor.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeHashToBase64 } from "@holochain/client";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerBindingProblem, signAgentBinding } from "@ripple-mesh/zome-bindings";
import { dnaHashesFor } from "@ripple-mesh/node/src/conductor/dna-hashes.mjs";
import { happFile } from "@ripple-mesh/node/src/config/paths.mjs";
import { capabilityOf, startMesh, stopAll, type Mesh, type TestNode } from "./harness.ts";

describe("a single supervised conductor", () => {
  let mesh: Mesh | undefined;
  let node: TestNode;

  beforeAll(async () => {
    mesh = await startMesh("roundtrip", [{ name: "solo" }]);
    node = mesh.nodes[0]!;
  });
  afterAll(() => (mesh ? stopAll(mesh.nodes, mesh.bootstrap) : undefined));

  it("installs the freshly built hApp and round-trips a capability through a zome call", async () => {
    const draft = await capabilityOf(node, { tokensPerSecond: 31.5 });
    const actionHash = await node.registry.publishCapability(draft);
    const records = await node.registry.listCapabilities();
    const mine = records.find((r) => encodeHashToBase64(r.action_hash) === encodeHashToBase64(actionHash));
    expect(mine, `published ${encodeHashToBase64(actionHash)}, listed ${records.length} records`).toBeDefined();
    const { agent, peer, ...rest } = mine!.capability;
    const { peer: draftPeer, ...draftRest } = draft;
    expect(rest).toEqual(draftRest);
    expect(peer.peer_signature).toEqual(draftPeer.peer_signature);
    expect(encodeHashToBase64(agent)).toBe(encodeHashToBase64(node.conductor.agentPubKey));
    expect(encodeHashToBase64(mine!.author)).toBe(encodeHashToBase64(node.conductor.agentPubKey));
    // The zome signed the binding with the agent key; TypeScript verifies both halves the same way.
    expect(await peerBindingProblem(peer, node.conductor.agentPubKey)).toBeNull();
  });

  it("installs DNAs with the hashes that dnaHashesFor computes offline (what the pins rely on)", async () => {
    const expected = await dnaHashesFor(happFile, node.conductor.networkSeed);
    for (const role of ["agent_registry", "resource_mesh", "artifact_index"]) {
      expect(encodeHashToBase64(node.conductor.cellId(role)[0]), role).toBe(expected[role]);
    }
  });

  it("rejects a peer binding whose libp2p signature was made by another key", async () => {
    const draft = await capabilityOf(node);
    const otherKey = await generateKeyPair("Ed25519");
    const forged = { ...draft, peer: { ...draft.peer, peer_signature: await signAgentBinding(otherKey, node.conductor.agentPubKey) } };
    await expect(node.registry.publishCapability(forged)).rejects.toThrow(/peer_signature is not the libp2p key's signature/);
  });

  it("rejects out-of-range fields in the zome even when the caller skips the TypeScript checks", async () => {
    const draft = await capabilityOf(node);
    const call = node.conductor.callZome({
      role: "agent_registry",
      zome: "agent_registry",
      fn: "publish_capability",
      payload: { ...draft, agent: node.conductor.agentPubKey, peer: { ...draft.peer, agent_signature: new Uint8Array(64) }, compute: { ...draft.compute, cpu_cores: 0 } },
    });
    await expect(call).rejects.toThrow(/compute.cpu_cores must be 1..=4096, got 0/);
    await expect(node.registry.publishCapability({ ...draft, agent_name: "x".repeat(65) })).rejects.toThrow(/agent_name/);
  });

  it("publishes heartbeats and lists the node among those heard from since a time", async () => {
    const since = (Date.now() - 5_000) * 1000;
    await node.registry.publishCapability(await capabilityOf(node));
    await node.registry.publishHeartbeat({ status: "online", load: { cpu_percent: 12.5, gpu_percent: 0, memory_percent: 40 }, active_jobs: 1 });
    const heard = await node.registry.getNodesSince(since);
    expect(heard.map((n) => encodeHashToBase64(n.agent))).toEqual([encodeHashToBase64(node.conductor.agentPubKey)]);
    expect(heard[0]!.heartbeat.entry.load.cpu_percent).toBe(12.5);
    expect(heard[0]!.capability?.capability.agent_name).toBe("solo");
    expect(await node.registry.getNodesSince(Date.now() * 1000 + 60_000_000)).toEqual([]);
    await expect(node.registry.getNodesSince((Date.now() - 3 * 3600_000) * 1000)).rejects.toThrow(/since must be within the last 120 minutes/);
  });
});
