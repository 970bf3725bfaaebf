// Two conductors that share one local bootstrap/relay server read each other's entries through
// the real network stack (iroh transport, kitsune2 gossip), not through any shortcut.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeHashToBase64 } from "@holochain/client";
import { capabilityOf, describeNodes, startMesh, startMeshTimeoutMs, stopAll, waitFor, type Mesh, type TestNode } from "./harness.ts";

describe("two conductors on one local bootstrap/relay server", () => {
  let mesh: Mesh | undefined;
  let nodes: TestNode[] = [];

  beforeAll(async () => {
    mesh = await startMesh("two", [{ name: "alice" }, { name: "bob" }]);
    nodes = mesh.nodes;
  }, startMeshTimeoutMs);
  afterAll(() => (mesh ? stopAll(mesh.nodes, mesh.bootstrap) : undefined));

  it("each reads the capability the other published", async () => {
    const [alice, bob] = nodes as [TestNode, TestNode];
    const aliceHash = encodeHashToBase64(await alice.registry.publishCapability(await capabilityOf(alice)));
    const bobHash = encodeHashToBase64(await bob.registry.publishCapability(await capabilityOf(bob)));

    const seenByBob = await waitFor(
      "bob to read alice's capability",
      async () => (await bob.registry.listCapabilities()).find((r) => encodeHashToBase64(r.action_hash) === aliceHash),
      { diagnostics: () => describeNodes(nodes) },
    );
    const seenByAlice = await waitFor(
      "alice to read bob's capability",
      async () => (await alice.registry.listCapabilities()).find((r) => encodeHashToBase64(r.action_hash) === bobHash),
      { diagnostics: () => describeNodes(nodes) },
    );
    expect(seenByBob.capability.agent_name).toBe("alice");
    expect(encodeHashToBase64(seenByBob.author)).toBe(encodeHashToBase64(alice.conductor.agentPubKey));
    expect(seenByAlice.capability.agent_name).toBe("bob");
    expect(encodeHashToBase64(seenByAlice.author)).toBe(encodeHashToBase64(bob.conductor.agentPubKey));
  });
});
