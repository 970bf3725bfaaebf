// The whole path: Rust → wasm → DNA → hApp → installed by the supervisor in a real conductor →
// called from TypeScript, with the integrity zome's validation enforced by that conductor.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeHashToBase64 } from "@holochain/client";
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
    const capability = { ...capabilityOf(node), ram_gb: 23.5 };
    const actionHash = await node.registry.publishCapability(capability);
    const records = await node.registry.listCapabilities();
    const mine = records.find((r) => encodeHashToBase64(r.action_hash) === encodeHashToBase64(actionHash));
    expect(mine, `published ${encodeHashToBase64(actionHash)}, listed ${records.length} records`).toBeDefined();
    expect(mine!.capability).toEqual(capability);
    expect(encodeHashToBase64(mine!.author)).toBe(encodeHashToBase64(node.conductor.agentPubKey));
  });

  it("rejects, through the integrity zome, a capability that names another agent", async () => {
    const other = new Uint8Array(node.conductor.agentPubKey);
    other[10] = (other[10]! + 1) % 256;
    const call = node.conductor.callZome({
      role: "agent_registry",
      zome: "agent_registry",
      fn: "publish_capability",
      payload: { ...capabilityOf(node), agent: other },
    });
    await expect(call).rejects.toThrow(/can only be written by the agent it describes/);
  });

  it("rejects out-of-range fields in the zome even when the caller skips the TypeScript checks", async () => {
    const call = node.conductor.callZome({
      role: "agent_registry",
      zome: "agent_registry",
      fn: "publish_capability",
      payload: { ...capabilityOf(node), cpu_cores: 0 },
    });
    await expect(call).rejects.toThrow(/cpu_cores must be 1..=4096/);
    await expect(node.registry.publishCapability({ ...capabilityOf(node), agent_name: "x".repeat(65) })).rejects.toThrow(/agent_name/);
  });
});
