// Three honest nodes on one mesh: they discover each other's capabilities, the model index finds
// exactly the nodes whose latest capability holds a model, heartbeats say who was heard from,
// concurrent claims on an open job converge on one winner everywhere, allocations can be released
// only by their parties, and artifacts are found by CID, name, kind and job from any node.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeHashToBase64 } from "@holochain/client";
import type { Artifact, ModelRef } from "@ripple-mesh/zome-bindings";
import { capabilityOf, describeNodes, startMesh, startMeshTimeoutMs, stopAll, waitFor, type Mesh, type TestNode } from "./harness.ts";

const b64 = encodeHashToBase64;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const qwen: ModelRef = { name: "qwen2.5-coder-0.5b", sha256: sha256("qwen"), cid: null };
const tiny: ModelRef = { name: "ripple-tiny", sha256: sha256("tiny"), cid: "bafkreitinytinytiny" };
const names = (nodes: TestNode[]) => nodes.map((n) => b64(n.conductor.agentPubKey)).sort();

describe("agent_registry, claims, allocations and artifact_index across three nodes", () => {
  let mesh: Mesh | undefined;
  let nodes: TestNode[] = [];
  let alice: TestNode, bob: TestNode, carol: TestNode;
  const diagnostics = () => describeNodes(nodes);

  /** Wait until `read` gives `expected` on every node. */
  async function onEveryNode<T>(what: string, read: (n: TestNode) => Promise<T>, expected: T) {
    for (const node of nodes) {
      await waitFor(`${node.name} to see ${what}`, async () => {
        const seen = await read(node);
        return JSON.stringify(seen) === JSON.stringify(expected) ? seen : undefined;
      }, { diagnostics, timeoutMs: 60_000 });
    }
  }

  beforeAll(async () => {
    mesh = await startMesh("discovery", [{ name: "alice" }, { name: "bob" }, { name: "carol" }]);
    nodes = mesh.nodes;
    [alice, bob, carol] = nodes as [TestNode, TestNode, TestNode];
  }, startMeshTimeoutMs);
  afterAll(() => (mesh ? stopAll(mesh.nodes, mesh.bootstrap) : undefined));

  it("discovers every node's capability and finds exactly the holders of a model", async () => {
    await alice.registry.publishCapability(await capabilityOf(alice, { models: [qwen] }));
    await bob.registry.publishCapability(await capabilityOf(bob, { models: [qwen, tiny] }));
    await carol.registry.publishCapability(await capabilityOf(carol, { models: [tiny] }));

    await onEveryNode("all three capabilities", async (n) => (await n.registry.listNodes()).map((r) => r.capability.agent_name).sort(), ["alice", "bob", "carol"]);
    const holders = async (n: TestNode, key: string) => (await n.registry.getNodesWithModel(key)).map((r) => b64(r.author)).sort();
    await onEveryNode("the qwen holders", (n) => holders(n, qwen.sha256!), names([alice, bob]));
    await onEveryNode("the tiny holders by sha256", (n) => holders(n, tiny.sha256!), names([bob, carol]));
    await onEveryNode("the tiny holders by CID", (n) => holders(n, tiny.cid!), names([bob, carol]));
    expect(await holders(alice, sha256("nobody has this"))).toEqual([]);

    // bob drops qwen: his new capability supersedes the old one in the index.
    await bob.registry.publishCapability(await capabilityOf(bob, { models: [tiny] }));
    await onEveryNode("qwen held by alice only", (n) => holders(n, qwen.sha256!), names([alice]));
    await onEveryNode("one record per node", async (n) => (await n.registry.listNodes()).length, 3);
  });

  it("lists the nodes heard from since a time, with their latest capability", async () => {
    const since = Date.now() * 1000;
    for (const n of [alice, carol]) await n.registry.publishHeartbeat({ status: "online", load: { cpu_percent: 5, gpu_percent: 0, memory_percent: 30 }, active_jobs: 0 });
    const heard = async (n: TestNode) => (await n.registry.getNodesSince(since)).map((s) => `${s.capability?.capability.agent_name}:${s.heartbeat.entry.status}`).sort();
    await onEveryNode("alice and carol heard from", heard, ["alice:online", "carol:online"]);
    await carol.registry.publishHeartbeat({ status: "offline", load: { cpu_percent: 0, gpu_percent: 0, memory_percent: 30 }, active_jobs: 0 });
    await onEveryNode("carol's offline heartbeat", heard, ["alice:online", "carol:offline"]);
  });

  it("converges on the same winner of concurrent claims on every node", async () => {
    const job = await alice.mesh.createJob({
      kind: "compute",
      requirements: "{}",
      payload_inline: "open work",
      payload_cid: null,
      deadline_ms: Date.now() + 120_000,
      moe_group: null,
      trace_id: "claims-1",
      claim_window_ms: 120_000,
    });
    await waitFor("bob and carol to see the open job", async () => ((await bob.mesh.getJob(job)) && (await carol.mesh.getJob(job)) ? true : undefined), { diagnostics });
    await Promise.all([bob.mesh.claimJob({ job, slot: 0 }), carol.mesh.claimJob({ job, slot: 0 })]);

    const winners = new Set<string>();
    for (const node of nodes) {
      const winner = await waitFor(`${node.name} to see both claims`, async () => {
        const w = await node.mesh.getClaimWinner(job, 0);
        return w && w.ranked.length === 2 ? w : undefined;
      }, { diagnostics });
      winners.add(`${b64(winner.claimant)} ranked ${winner.ranked.map(b64).join(",")}`);
    }
    expect(winners.size, [...winners].join("\n")).toBe(1);
    expect(names([bob, carol])).toContain([...winners][0]!.split(" ")[0]);

    // A job its author assigns cannot be claimed, and claims after the window are refused.
    const closed = await alice.mesh.createJob({ kind: "compute", requirements: "{}", payload_inline: "x", payload_cid: null, deadline_ms: Date.now() + 60_000, moe_group: null, trace_id: "claims-2", claim_window_ms: 0 });
    await expect(alice.mesh.claimJob({ job: closed, slot: 0 })).rejects.toThrow(/this job is not open/);
    const brief = await alice.mesh.createJob({ kind: "compute", requirements: "{}", payload_inline: "x", payload_cid: null, deadline_ms: Date.now() + 60_000, moe_group: null, trace_id: "claims-3", claim_window_ms: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await expect(alice.mesh.claimJob({ job: brief, slot: 0 })).rejects.toThrow(/inside the job's claim window/);
  });

  it("lets only the requester or the named provider release an allocation", async () => {
    const allocation = await alice.mesh.allocate({
      resource_type: "inference",
      requirements: JSON.stringify({ model: qwen.sha256 }),
      locality_preference: "local",
      duration_seconds: 600,
      expires_at_ms: Date.now() + 600_000,
      provider: bob.conductor.agentPubKey,
    });
    const bobsView = await waitFor("bob to see the allocation naming him", async () => (await bob.mesh.getMyAllocations()).find((a) => b64(a.allocation.action_hash) === b64(allocation)), { diagnostics });
    expect(bobsView.released).toBe(false);
    await waitFor("carol to see the allocation as valid", async () => ((await carol.mesh.validationStatus(allocation)) === "Valid" ? true : undefined), { diagnostics });
    await expect(carol.mesh.release({ allocation, reason: "not mine" })).rejects.toThrow(/only the allocation's requester or its provider may release it/);
    await bob.mesh.release({ allocation, reason: "done" });
    await onEveryNode("alice's allocation released", async (n) => (n === carol ? true : (await n.mesh.getMyAllocations()).find((a) => b64(a.allocation.action_hash) === b64(allocation))?.released), true);
  });

  it("finds an artifact by CID, name, kind and job from every node, and who provides it", async () => {
    const job = await alice.mesh.createJob({ kind: "inference", requirements: "{}", payload_inline: "hi", payload_cid: null, deadline_ms: Date.now() + 60_000, moe_group: null, trace_id: "artifacts-1", claim_window_ms: 0 });
    const output: Artifact = {
      cid: "bafkreiexampleoutputcid",
      name: "answer-artifacts-1.txt",
      kind: "output",
      size: 42,
      sha256: sha256("the answer"),
      mime: "text/plain",
      provenance: { job, model: qwen.sha256, agent: alice.conductor.agentPubKey, parent_cids: ["bafkreiprompt"] },
    };
    const registered = await alice.artifacts.registerArtifact(output);
    await alice.artifacts.addProvider(output.cid);
    await carol.artifacts.addProvider(output.cid);
    const hashes = (found: Array<{ action_hash: Uint8Array }>) => found.map((f) => b64(f.action_hash));
    await onEveryNode("the artifact by CID", async (n) => hashes(await n.artifacts.byCid(output.cid)), [b64(registered)]);
    // Each index is its own link, gossiped on its own: wait for each.
    await onEveryNode("the artifact by name", async (n) => hashes(await n.artifacts.byName(output.name)), [b64(registered)]);
    await onEveryNode("the artifact by job", async (n) => hashes(await n.artifacts.byJob(job)), [b64(registered)]);
    await onEveryNode("the artifact among outputs", async (n) => hashes(await n.artifacts.byKind("output")).includes(b64(registered)), true);
    for (const node of nodes) expect(hashes(await node.artifacts.byKind("model"))).not.toContain(b64(registered));
    await onEveryNode("alice and carol as providers", async (n) => (await n.artifacts.providers(output.cid)).map((p) => b64(p.author)).sort(), names([alice, carol]));
    // An artifact must name its registering agent; a provider record can only be one's own.
    await expect(bob.artifacts.registerArtifact({ ...output, name: "stolen.txt" })).rejects.toThrow(/provenance.agent must be the agent registering it/);
  });
});
