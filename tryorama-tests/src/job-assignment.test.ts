// A job assigned to bob can only be completed by bob: alice (the job's author) and carol are
// refused at commit by their own conductors. mallory is a rogue peer: her conductor skips
// self-validation and runs forging coordinators (dnas/rogue) against our integrity zomes. Every
// honest node marks what she forges Rejected, and no honest coordinator function returns or counts
// it. Reassignment to carol with a higher epoch works, and bob's late result is not counted.
// Accounting (issue 21): get_agent_totals counts one record per counted assignment: not bob's
// superseded epoch, not a job's author's own slot, not a retried write twice; a result write left
// pending by a stopped node is resumed from its data dir after the restart.
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeHashToBase64 } from "@holochain/client";
import type { Job, JobResult, ZomeCaller } from "@ripple-mesh/zome-bindings";
import { ResultWriter } from "@ripple-mesh/node/src/worker/result-writer.ts";
import { capabilityOf, describeNodes, log, makeNode, opsPendingAbout, startMesh, startNode, startMeshTimeoutMs, stopAll, toolchain, waitFor, type Mesh, type TestNode } from "./harness.ts";

const b64 = encodeHashToBase64;
/**
 * How long an op may take to reach and be validated by every honest node. Usually seconds; with
 * the rogue peer in the mesh we saw single ops stall for over 60 s (an authority that must fetch a
 * dependency and asks the rogue node seems to wait for a retry), so this mesh gets more time.
 */
const propagationMs = 180_000;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function resultFor(assignment: Uint8Array, job: Uint8Array, output: string): JobResult {
  return { assignment, job, output_inline: output, output_cid: null, response_hash: sha256(output), tokens: 3, latency_ms: 42, model: sha256("model") };
}

function jobNamed(trace_id: string): Job {
  return {
    kind: "inference",
    requirements: JSON.stringify({ model: "tiny" }),
    payload_inline: "What is 2+2?",
    payload_cid: null,
    deadline_ms: Date.now() + 60_000,
    moe_group: null,
    trace_id,
    claim_window_ms: 0,
  };
}

describe("resource_mesh: only the named assignee completes a job, even with a rogue peer", { timeout: 4 * propagationMs }, () => {
  let mesh: Mesh | undefined;
  let nodes: TestNode[] = [];
  let alice: TestNode, bob: TestNode, carol: TestNode, mallory: TestNode;
  let honest: TestNode[] = [];
  const diagnostics = () => describeNodes(honest);
  const forge = (role: string, fn: string, payload: unknown) => mallory.call<Uint8Array>({ role, zome: role, fn, payload });

  /**
   * Wait until every honest node's own judgement of `hash` is `expected` (gossip + validation).
   * A node that fetched the record from the network before validating it itself first shows the
   * answering authority's status (a rogue one says Valid); its own verdict replaces that.
   */
  async function verdicts(hash: Uint8Array, read: (n: TestNode) => Promise<string | null>, expected: string) {
    const seen: Record<string, string | null> = {};
    for (const node of honest) {
      seen[node.name] = await waitFor(`${node.name} to judge ${b64(hash)} ${expected}`, async () => {
        const status = await read(node);
        return status === expected ? status : undefined;
      }, { diagnostics, timeoutMs: propagationMs }).catch(async () => read(node));
    }
    return seen;
  }

  beforeAll(async () => {
    mesh = await startMesh("jobs", [{ name: "alice" }, { name: "bob" }, { name: "carol" }, { name: "mallory", rogue: true }]);
    nodes = mesh.nodes;
    [alice, bob, carol, mallory] = nodes as [TestNode, TestNode, TestNode, TestNode];
    honest = [alice, bob, carol];
  }, startMeshTimeoutMs);
  afterAll(() => (mesh ? stopAll(mesh.nodes, mesh.bootstrap) : undefined));

  it("accepts bob's result and accounting, refuses alice's and carol's at commit, and rejects mallory's forgeries everywhere", async () => {
    const job = await alice.mesh.createJob(jobNamed("assign-1"));
    const assignment = await alice.mesh.assignJob({ job, assignee: bob.conductor.agentPubKey, slot: 0, epoch: 1 });

    // bob finds his work through the assignee index and completes it.
    const mine = await waitFor("bob to see his assignment", async () => (await bob.mesh.getMyAssignments()).find((a) => b64(a.action_hash) === b64(assignment)), { diagnostics, timeoutMs: propagationMs });
    expect(b64(mine.author)).toBe(b64(alice.conductor.agentPubKey));
    // What a worker checks before it serves a slot: the assignment with its job, by the assignment's hash.
    const backed = await waitFor("bob to read his assignment with its job", async () => (await bob.mesh.getAssignmentWithJob(assignment)) ?? undefined, { diagnostics, timeoutMs: propagationMs });
    expect([b64(backed.assignment.author), b64(backed.job.action_hash), backed.job.entry.trace_id, backed.assignment.entry.slot]).toEqual([b64(alice.conductor.agentPubKey), b64(job), "assign-1", 0]);
    expect(await bob.mesh.getAssignmentWithJob(job)).toBeNull(); // a job's hash is not an assignment
    const bobResult = await bob.mesh.postResult(resultFor(assignment, job, "4"));
    await bob.mesh.recordAccounting({ job, assignment, agent: bob.conductor.agentPubKey, tokens: 3, served_ms: 42 });

    // alice and carol may not complete or account for bob's assignment; bob may not assign alice's job.
    await expect(alice.mesh.postResult(resultFor(assignment, job, "5"))).rejects.toThrow(/only the agent named by the assignment may post its result/);
    await waitFor("carol to hold the assignment", async () => ((await carol.mesh.validationStatus(assignment)) === "Valid" ? true : undefined), { diagnostics, timeoutMs: propagationMs });
    await expect(carol.mesh.postResult(resultFor(assignment, job, "6"))).rejects.toThrow(/only the agent named by the assignment may post its result/);
    await expect(alice.mesh.recordAccounting({ job, assignment, agent: alice.conductor.agentPubKey, tokens: 1, served_ms: 1 })).rejects.toThrow(/only the assignee of an assignment may account for it/);
    await expect(bob.mesh.assignJob({ job, assignee: bob.conductor.agentPubKey, slot: 1, epoch: 2 })).rejects.toThrow(/only the job's author may assign/);

    // mallory forges a result for bob's assignment, and links the job to alice's assignment as a
    // "result". Her conductor skips self-validation, so her commits succeed whatever they hold.
    const forgedResult = await forge("resource_mesh", "forge_result", resultFor(assignment, job, "22"));
    const forgedLink = await forge("resource_mesh", "forge_result_link", { job, target: assignment });

    const rejectedEverywhere = { alice: "Rejected", bob: "Rejected", carol: "Rejected" };
    expect(await verdicts(forgedResult, (n) => n.mesh.validationStatus(forgedResult), "Rejected")).toEqual(rejectedEverywhere);
    expect(await verdicts(forgedLink, (n) => n.mesh.validationStatus(forgedLink), "Rejected")).toEqual(rejectedEverywhere);

    for (const node of honest) {
      const results = await waitFor(`${node.name} to read bob's result`, async () => {
        const rs = await node.mesh.getJobResults(job);
        return rs.some((r) => b64(r.action_hash) === b64(bobResult)) ? rs : undefined;
      }, { diagnostics, timeoutMs: propagationMs });
      expect(results.map((r) => `${r.entry.output_inline} by ${b64(r.author)}`)).toEqual([`4 by ${b64(bob.conductor.agentPubKey)}`]);
      expect((await node.mesh.getCountedResults(job)).map((r) => b64(r.action_hash))).toEqual([b64(bobResult)]);
      const accounting = await waitFor(`${node.name} to read bob's accounting`, async () => ((await node.mesh.getJobAccounting(job)).length ? node.mesh.getJobAccounting(job) : undefined), { diagnostics, timeoutMs: propagationMs });
      expect(accounting.map((a) => [b64(a.author), a.entry.tokens])).toEqual([[b64(bob.conductor.agentPubKey), 3]]);
    }
  });

  it("rejects a capability mallory publishes in bob's name on every honest node and never lists it", async () => {
    const model = { name: "forged-model", sha256: sha256("forged-model"), cid: null };
    const draft = await capabilityOf(bob, { models: [model] });
    const forged = { ...draft, agent: bob.conductor.agentPubKey, agent_name: "bob-impostor", peer: { ...draft.peer, agent_signature: new Uint8Array(64) } };
    const forgedHash = await forge("agent_registry", "forge_capability", forged);
    expect(await verdicts(forgedHash, (n) => n.registry.validationStatus(forgedHash), "Rejected")).toEqual({ alice: "Rejected", bob: "Rejected", carol: "Rejected" });
    for (const node of honest) {
      expect((await node.registry.listCapabilities()).map((r) => r.capability.agent_name)).not.toContain("bob-impostor");
      expect((await node.registry.listNodes()).map((r) => r.capability.agent_name)).not.toContain("bob-impostor");
      expect(await node.registry.getNodesWithModel(model.sha256)).toEqual([]);
    }
  });

  /** Each honest node's totals of `agent` now. */
  const totalsOn = async (agent: Uint8Array) => new Map(await Promise.all(honest.map(async (n) => [n.name, await n.mesh.getAgentTotals(agent)] as const)));

  it("reassigns to carol with a higher epoch and counts neither bob's late result nor his accounting", async () => {
    const [bobKey, carolKey] = [bob.conductor.agentPubKey, carol.conductor.agentPubKey];
    const [bobBefore, carolBefore] = [await totalsOn(bobKey), await totalsOn(carolKey)];
    const job = await alice.mesh.createJob(jobNamed("reassign-1"));
    const first = await alice.mesh.assignJob({ job, assignee: bob.conductor.agentPubKey, slot: 0, epoch: 1 });
    // bob times out; alice reassigns the slot to carol.
    const second = await alice.mesh.assignJob({ job, assignee: carol.conductor.agentPubKey, slot: 0, epoch: 2 });
    // carol finds her assignment through the assignee index and completes it.
    await waitFor("carol to see her assignment", async () => (await carol.mesh.getMyAssignments()).find((a) => b64(a.action_hash) === b64(second)), { diagnostics, timeoutMs: propagationMs });
    const carols = (await carol.mesh.postResultAndAccounting(resultFor(second, job, "4"))).result;
    await waitFor("bob to see his old assignment", async () => (await bob.mesh.getMyAssignments()).find((a) => b64(a.action_hash) === b64(first)), { diagnostics, timeoutMs: propagationMs });
    // bob's result and accounting are valid records (he was epoch 1's assignee), but not counted.
    const late = (await bob.mesh.postResultAndAccounting(resultFor(first, job, "four"))).result;

    const resultDiagnostics = async () => {
      const lines = [];
      for (const n of honest) {
        const seen = (await n.mesh.getJobResults(job)).map((r) => b64(r.action_hash).slice(0, 12));
        lines.push(`${n.name}: results [${seen.join(", ")}]; carol's ${b64(carols).slice(0, 12)} ${await n.mesh.validationStatus(carols)}; bob's late ${b64(late).slice(0, 12)} ${await n.mesh.validationStatus(late)}`);
      }
      return `${lines.join("\n")}\n${await describeNodes(honest)}`;
    };
    for (const node of honest) {
      const all = await waitFor(`${node.name} to see both results`, async () => {
        const rs = await node.mesh.getJobResults(job);
        return rs.length === 2 ? rs : undefined;
      }, { diagnostics: resultDiagnostics, timeoutMs: propagationMs });
      expect(all.map((r) => b64(r.action_hash))).toContain(b64(late));
      const current = await node.mesh.getCurrentAssignments(job);
      expect(current.map((a) => [b64(a.entry.assignee), a.entry.epoch])).toEqual([[b64(carol.conductor.agentPubKey), 2]]);
      const counted = await node.mesh.getCountedResults(job);
      expect(counted.map((r) => `${r.entry.output_inline} by ${b64(r.author)}`)).toEqual([`4 by ${b64(carol.conductor.agentPubKey)}`]);
      const accounting = await waitFor(`${node.name} to read both accounting records`, async () => {
        const records = await node.mesh.getJobAccounting(job);
        return records.length === 2 ? records : undefined;
      }, { diagnostics: resultDiagnostics, timeoutMs: propagationMs });
      expect(accounting.map((a) => b64(a.author)).sort()).toEqual([b64(bobKey), b64(carolKey)].sort());
      const [bobNow, carolNow] = [await node.mesh.getAgentTotals(bobKey), await node.mesh.getAgentTotals(carolKey)];
      expect([carolNow.records - carolBefore.get(node.name)!.records, carolNow.tokens - carolBefore.get(node.name)!.tokens]).toEqual([1, 3]);
      expect([bobNow.records, bobNow.tokens]).toEqual([bobBefore.get(node.name)!.records, bobBefore.get(node.name)!.tokens]);
    }
  });

  it("keeps one result and one record when a write is retried after a lost reply, and accounts nothing for the job author's own slot", async () => {
    const [aliceKey, bobKey] = [alice.conductor.agentPubKey, bob.conductor.agentPubKey];
    const bobBefore = await totalsOn(bobKey);
    const job = await alice.mesh.createJob(jobNamed("retry-1"));
    const toBob = await alice.mesh.assignJob({ job, assignee: bobKey, slot: 0, epoch: 1 });
    const toAlice = await alice.mesh.assignJob({ job, assignee: aliceKey, slot: 1, epoch: 1 });

    // alice serves her own slot: her result is written, with no accounting; she may not write one herself.
    const own = await alice.mesh.postResultAndAccounting(resultFor(toAlice, job, "4"));
    expect(own.accounting).toBeNull();
    await expect(alice.mesh.recordAccounting({ job, assignment: toAlice, agent: aliceKey, tokens: 3, served_ms: 42 })).rejects.toThrow(/may not account for its own job/);

    // bob writes, the reply is lost, he writes again: the retry returns what the first call wrote.
    await waitFor("bob to see his assignment", async () => (await bob.mesh.getMyAssignments()).find((a) => b64(a.action_hash) === b64(toBob)), { diagnostics, timeoutMs: propagationMs });
    const first = await bob.mesh.postResultAndAccounting(resultFor(toBob, job, "4"));
    const retried = await bob.mesh.postResultAndAccounting(resultFor(toBob, job, "4"));
    expect([b64(retried.result), b64(retried.accounting!)]).toEqual([b64(first.result), b64(first.accounting!)]);
    // The separate writes are idempotent too.
    expect(b64(await bob.mesh.postResult(resultFor(toBob, job, "4")))).toBe(b64(first.result));
    expect(b64(await bob.mesh.recordAccounting({ job, assignment: toBob, agent: bobKey, tokens: 3, served_ms: 42 }))).toBe(b64(first.accounting!));

    for (const node of honest) {
      const results = await waitFor(`${node.name} to read both slots' results`, async () => {
        const rs = await node.mesh.getJobResults(job);
        return rs.length >= 2 ? rs : undefined;
      }, { diagnostics, timeoutMs: propagationMs });
      expect(results.map((r) => b64(r.action_hash)).sort()).toEqual([b64(first.result), b64(own.result)].sort());
      const accounting = await waitFor(`${node.name} to read bob's accounting`, async () => {
        const records = await node.mesh.getJobAccounting(job);
        return records.length ? records : undefined;
      }, { diagnostics, timeoutMs: propagationMs });
      expect(accounting.map((a) => b64(a.action_hash))).toEqual([b64(first.accounting!)]);
      // The totals are read from bob's agent index, another link base than the job's: it can reach
      // this node a little later than the job's accounting link (seen in a CI run: [0, 0] here).
      const bobNow = await waitFor(`${node.name} to count bob's record in his totals`, async () => {
        const totals = await node.mesh.getAgentTotals(bobKey);
        return totals.records > bobBefore.get(node.name)!.records ? totals : undefined;
      }, { diagnostics, timeoutMs: propagationMs });
      expect([bobNow.records - bobBefore.get(node.name)!.records, bobNow.tokens - bobBefore.get(node.name)!.tokens]).toEqual([1, 3]);
      // alice only ever served her own jobs.
      expect((await node.mesh.getAgentTotals(aliceKey)).records).toBe(0);
    }
  });

  // Last: it restarts carol's conductor.
  it("resumes a result write left pending by a stopped node once it restarts on the same data dir", async () => {
    const carolKey = carol.conductor.agentPubKey;
    const pendingFile = join(carol.dataDir, "pending-results.json");
    const carolCalls: ZomeCaller = { callZome: (req) => carol.call(req) };
    const sample = (job: Uint8Array, assignment: Uint8Array) => ({ job: b64(job), assignment: b64(assignment), output: "4", responseHash: sha256("4"), tokens: 3, latencyMs: 42, modelSha256: sha256("model") });

    const started = Date.now();
    const job = await alice.mesh.createJob(jobNamed("pending-1"));
    const assignment = await alice.mesh.assignJob({ job, assignee: carolKey, slot: 0, epoch: 1 });
    await waitFor("carol to see her assignment", async () => (await carol.mesh.getMyAssignments()).find((a) => b64(a.action_hash) === b64(assignment)), { diagnostics, timeoutMs: propagationMs });
    // carol's node goes down with a result produced and not yet written (its conductor stopped).
    await carol.conductor.stop();
    const stopped = Date.now();
    const beforeRestart = new ResultWriter({ zomes: carolCalls, log, pendingFile, maxRetryDelayMs: 100 });
    beforeRestart.write(sample(job, assignment));
    await new Promise((r) => setTimeout(r, 300));
    await beforeRestart.stop(0);
    expect(beforeRestart.pending).toBe(1);
    expect(JSON.parse(readFileSync(pendingFile, "utf8")).pending.map((p: { assignment: string }) => p.assignment)).toEqual([b64(assignment)]);
    expect(statSync(pendingFile).mode & 0o777).toBe(0o600);

    // The node starts again on the same data dir; a new writer finds the result there and writes it.
    carol = makeNode(await toolchain(), "carol", carol.dataDir, mesh!.bootstrap.url, mesh!.seed);
    mesh!.nodes[2] = nodes[2] = honest[2] = carol;
    await carol.conductor.start();
    const restarted = Date.now();
    let written: { result: string; accounting: string | null } | undefined;
    const afterRestart = new ResultWriter({ zomes: carolCalls, log, pendingFile, maxRetryDelayMs: 1_000, onWritten: (e) => (written = e) });
    expect(afterRestart.resume()).toBe(1);
    const posted = await waitFor("carol's resumed write", async () => written, { diagnostics, timeoutMs: propagationMs });
    const writtenAt = Date.now();
    expect(posted.accounting).not.toBeNull();
    expect(afterRestart.pending).toBe(0);
    expect(JSON.parse(readFileSync(pendingFile, "utf8")).pending).toEqual([]);

    // Read back on carol's own node (reaching the others is the DHT's part, tested above).
    const onCarol = await waitFor("carol to read her resumed result and accounting", async () => {
      const [results, accounting] = [await carol.mesh.getCountedResults(job), await carol.mesh.getJobAccounting(job)];
      return results.length && accounting.length ? { results, accounting } : undefined;
    }, { diagnostics, timeoutMs: propagationMs });
    expect(onCarol.results.map((r) => b64(r.action_hash))).toEqual([posted.result]);
    expect(onCarol.accounting.map((a) => b64(a.action_hash))).toEqual([posted.accounting]);
    await afterRestart.stop();
    console.log(`[job-assignment] pending write: assignment seen + conductor stopped ${stopped - started} ms, restarted ${restarted - stopped} ms, written ${writtenAt - restarted} ms, read back ${Date.now() - writtenAt} ms`);
  });

  // Last, with a second rogue agent: honest nodes block mallory in this DNA once they have judged
  // her first forgery, and take nothing more from her. The two links of this forgery point at a
  // record that is invalid: a link is judged by its target's type, author and base, not by the
  // target's validity (readers skip invalid targets), so neither stays pending on any node. (While
  // links required a valid target, a node that did not hold the target's verdict itself kept such a
  // link waiting and re-validated it every few seconds; assignments once took over 180 s to reach
  // bob in the tests after this one.)
  it("counts nothing for accounting a rogue job author pays itself for its own job, on every honest node", async () => {
    const mallory2 = await startNode(await toolchain(), "mallory-2", mesh!.bootstrap.url, mesh!.seed, { rogue: true });
    mesh!.nodes.push(mallory2);
    // A job of her own, assigned to herself, an AccountingRecord and both links the honest coordinator writes.
    const selfPaid = await mallory2.call<Uint8Array>({ role: "resource_mesh", zome: "resource_mesh", fn: "forge_self_paid_job", payload: jobNamed("self-paid") });
    expect(await verdicts(selfPaid, (n) => n.mesh.validationStatus(selfPaid), "Rejected")).toEqual({ alice: "Rejected", bob: "Rejected", carol: "Rejected" });
    for (const node of honest) expect(await node.mesh.getAgentTotals(mallory2.conductor.agentPubKey), node.name).toMatchObject({ records: 0, tokens: 0, served_ms: 0 });
    // No record or link op that refers to the forged record is left waiting for validation or
    // integration. Warrants about it are left out: Holochain validates a warrant only once it has
    // validated the warranted op itself, which a node that is not that op's authority must fetch
    // first (rc.3 sys_validation_workflow: move_and_check_warrant_deps), and in CI alice once held
    // two such warrants in limbo for over 180 s. Warrants block the forger; they are not read by us.
    for (const node of honest) {
      let pending: string[] = [];
      const chainOpsPending = async () => (await opsPendingAbout(node, "resource_mesh", selfPaid)).filter((op) => !op.includes("WarrantOp"));
      await waitFor(`${node.name} to finish every record and link op about the forged record`, async () => ((pending = await chainOpsPending()).length === 0 ? true : undefined), {
        diagnostics: async () => `${node.name} still has: ${pending.join("; ")}`,
        timeoutMs: propagationMs,
      });
    }
  });
});
