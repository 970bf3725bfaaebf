// A job assigned to bob can only be completed by bob. alice (the job's author) is refused at
// commit by her own conductor; carol runs a modified conductor that skips self-validation and
// publishes a result anyway: the honest nodes reject it and never return it.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeHashToBase64 } from "@holochain/client";
import type { JobResult } from "@ripple-mesh/zome-bindings";
import { describeNodes, startMesh, stopAll, waitFor, type Mesh, type TestNode } from "./harness.ts";

const b64 = encodeHashToBase64;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function resultFor(assignment: Uint8Array, job: Uint8Array, output: string): JobResult {
  return {
    assignment,
    job,
    output_inline: output,
    output_cid: null,
    response_hash: sha256(output),
    tokens: 3,
    latency_ms: 42,
    model: sha256("model"),
  };
}

describe("resource_mesh: only the named assignee completes a job", () => {
  let mesh: Mesh | undefined;
  let nodes: TestNode[] = [];

  beforeAll(async () => {
    mesh = await startMesh("jobs", [{ name: "alice" }, { name: "bob" }, { name: "carol", rogue: true }]);
    nodes = mesh.nodes;
  });
  afterAll(() => (mesh ? stopAll(mesh.nodes, mesh.bootstrap) : undefined));

  it("accepts bob's result and rejects alice's and carol's on every honest node", async () => {
    const [alice, bob, carol] = nodes as [TestNode, TestNode, TestNode];
    const job = await alice.mesh.createJob({
      kind: "inference",
      requirements: JSON.stringify({ model: "tiny" }),
      payload_inline: "What is 2+2?",
      payload_cid: null,
      deadline_ms: Date.now() + 60_000,
      moe_group: null,
      trace_id: "trace-1",
      claim_window_ms: 0,
    });
    const assignment = await alice.mesh.assignJob({ job, assignee: bob.conductor.agentPubKey, slot: 0, epoch: 1 });

    // bob finds his work through the assignee index and completes it.
    const mine = await waitFor(
      "bob to see his assignment",
      async () => (await bob.mesh.getMyAssignments()).find((a) => b64(a.action_hash) === b64(assignment)),
      { diagnostics: () => describeNodes(nodes) },
    );
    expect(b64(mine.author)).toBe(b64(alice.conductor.agentPubKey));
    const bobResult = await bob.mesh.postResult(resultFor(assignment, job, "4"));

    // alice may not complete bob's assignment: her own conductor refuses the commit.
    await expect(alice.mesh.postResult(resultFor(assignment, job, "5"))).rejects.toThrow(/only the agent named by the assignment may post its result/);
    // Nor may bob assign alice's job.
    await expect(bob.mesh.assignJob({ job, assignee: bob.conductor.agentPubKey, slot: 1, epoch: 2 })).rejects.toThrow(/only the job's author may assign/);

    // carol's modified conductor commits and publishes an invalid result.
    const rogue = b64(await carol.mesh.postResult(resultFor(assignment, job, "22")));

    for (const honest of [alice, bob]) {
      const results = await waitFor(
        `${honest.name} to read bob's result`,
        async () => {
          const rs = await honest.mesh.getJobResults(job);
          return rs.some((r) => b64(r.action_hash) === b64(bobResult)) ? rs : undefined;
        },
        { diagnostics: () => describeNodes(nodes) },
      );
      expect(results.map((r) => b64(r.author))).toEqual([b64(bob.conductor.agentPubKey)]);
      expect(results[0]!.entry.output_inline).toBe("4");
    }
    // Give carol's ops time to be gossiped and validated; honest reads must never return them.
    const deadline = Date.now() + 8_000;
    while (Date.now() < deadline) {
      for (const honest of [alice, bob]) {
        const seen = (await honest.mesh.getJobResults(job)).map((r) => b64(r.action_hash));
        expect(seen, `${honest.name} returned carol's invalid result`).not.toContain(rogue);
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  });
});
