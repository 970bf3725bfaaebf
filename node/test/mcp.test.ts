// `ripple mcp` as an AI client uses it: one real node on the local mesh (`ripple up`, the tiny test
// model, an inference policy whose experts run it), and the official MCP SDK's Client spawning
// `ripple mcp --data-dir <the node's>` over stdio. Every tool is listed with its input schema and
// called with valid input (allocate → listed → release → gone in resource_mesh; load → unload; an MOE
// query and a scheduled task with the MoeResult shape; the pinned hApp accepted, another file refused);
// bad input (a missing field, a number out of range, an unknown key) is a tool error naming the field.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { AllocationView, DaemonStatus, MoeResult, PeerInfo, ResourcesView, ScheduleResult } from "@ripple-mesh/api-types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { modelsDir, repoRoot } from "../src/config/paths.mjs";
import { rippleBin, type RippleDaemon } from "./support/ripple-process.ts";
import { TestFleet } from "./support/test-fleet.ts";

const TINY = "ripple-tiny-test";
const EXPECTED_TOOLS = [
  "holochain.join_mesh",
  "holochain.register_node",
  "holochain.query_peers",
  "holochain.init_conductor",
  "holochain.install_dna",
  "resources.query_available",
  "resources.allocate",
  "resources.release",
  "resources.schedule_task",
  "inference.moe_query",
  "inference.single_query",
  "inference.load_model",
  "inference.unload_model",
];

const fleet = new TestFleet(async () => {
  await mcp?.close().catch(() => {});
});

/** The shipped inference policy with two experts that run the tiny test model (an MOE on one node in seconds). */
function tinyPolicyFile(): string {
  const policy = parse(readFileSync(join(repoRoot, "manifests", "distributed", "inference_policy.yaml"), "utf8"));
  const sha256 = createHash("sha256").update(readFileSync(join(modelsDir(), `${TINY}.gguf`))).digest("hex");
  policy.models = { [TINY]: { sha256 } };
  const expert = (name: string, seed: number) => ({ name, model: TINY, template: "chat_direct", sampling: { temperature: 0.7, seed }, weight: 1, specialization: ["short_answer", "math", "classification", "code_generation", "review"] });
  policy.local_tier = { ...policy.local_tier, min_parallel: 1, max_parallel: 2, max_tokens: 8, experts: [expert("tiny-a", 1), expert("tiny-b", 2)] };
  const file = join(fleet.tempDir("rm-mcp-policy-"), "inference_policy.yaml");
  writeFileSync(file, stringify(policy));
  return file;
}

let node: RippleDaemon;
let mcp: Client | undefined;

const text = (r: CallToolResult): string => r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");

async function call<T>(name: string, args: Record<string, unknown> = {}, timeout = 120_000): Promise<T> {
  const r = (await mcp!.callTool({ name, arguments: args }, undefined, { timeout })) as CallToolResult;
  expect(r.isError, `${name} failed: ${text(r)}`).toBeFalsy();
  expect(JSON.parse(text(r))).toEqual(r.structuredContent);
  return r.structuredContent as T;
}

async function toolError(name: string, args: Record<string, unknown>): Promise<string> {
  const r = (await mcp!.callTool({ name, arguments: args })) as CallToolResult;
  expect(r.isError, `${name} ${JSON.stringify(args)} should be refused, got: ${text(r)}`).toBe(true);
  return text(r);
}

beforeAll(async () => {
  node = fleet.up("mcp-node", ["--network", "local", "--no-measure", "--inference-policy", tinyPolicyFile()]);
  await node.waitUntilRunning();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [rippleBin, "mcp", "--data-dir", node.dataDir],
    cwd: repoRoot,
    env: { ...(process.env as Record<string, string>), RIPPLE_LOG_LEVEL: "warn" },
    stderr: "pipe",
  });
  mcp = new Client({ name: "ripple-mcp-test", version: "1.0.0" });
  await mcp.connect(transport);
}, 300_000);

afterAll(async () => {
  await mcp?.close().catch(() => {});
});

describe("ripple mcp against a running node", { timeout: 300_000 }, () => {
  it("lists every tool with a strict input schema and its hints", async () => {
    const { tools } = await mcp!.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...EXPECTED_TOOLS].sort());
    for (const t of tools) {
      expect(t.inputSchema.type, t.name).toBe("object");
      expect((t.inputSchema as { additionalProperties?: unknown }).additionalProperties, t.name).toBe(false);
      expect(t.description?.length, t.name).toBeGreaterThan(20);
    }
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get("resources.allocate")!.inputSchema).toMatchObject({ required: ["duration_s"], properties: { duration_s: { type: "integer", minimum: 1, maximum: 604800 } } });
    expect(byName.get("inference.moe_query")!.inputSchema).toMatchObject({ required: ["prompt"], properties: { experts: { maximum: 16 }, max_tokens: { maximum: 2048 } } });
    for (const q of ["holochain.query_peers", "resources.query_available", "holochain.init_conductor"]) expect(byName.get(q)!.annotations?.readOnlyHint, q).toBe(true);
    // Asking writes a job to resource_mesh and spends peers' compute: a client must not approve it as read-only.
    for (const q of ["inference.moe_query", "inference.single_query"]) expect(byName.get(q)!.annotations?.readOnlyHint, q).toBe(false);
    for (const d of ["resources.release", "inference.unload_model", "holochain.join_mesh"]) expect(byName.get(d)!.annotations?.destructiveHint, d).toBe(true);
  });

  it("holochain.*: the node's conductor, peers, capability, mesh, and the pinned hApp only", async () => {
    const conductor = await call<{ phase: string; running: boolean; pid: number; restarts: number; network: string; agentPubKey: string }>("holochain.init_conductor");
    expect(conductor).toMatchObject({ phase: "running", running: true, network: "local", restarts: 0 });
    expect(conductor.pid).toBeGreaterThan(1);
    expect(conductor.agentPubKey).toMatch(/^uhCAk/);

    const { peers } = await call<{ peers: PeerInfo[] }>("holochain.query_peers", { online_only: true, model: TINY });
    expect(peers.map((p) => [p.name, p.self, p.online])).toEqual([["mcp-node", true, true]]);
    expect((await call<{ peers: PeerInfo[] }>("holochain.query_peers", { model: "no-such-model" })).peers).toEqual([]);

    const before = Date.now();
    const { capability } = await call<{ capability: { agent: string; name: string; models: Array<{ name: string }>; publishedAtMs: number; actionHash: string } }>("holochain.register_node");
    expect(capability.agent).toBe(conductor.agentPubKey);
    expect(capability.name).toBe("mcp-node");
    expect(capability.models.map((m) => m.name)).toContain(TINY);
    expect(capability.actionHash).toMatch(/^uhCkk/);
    expect(capability.publishedAtMs).toBeGreaterThanOrEqual(before - 2000); // published now, not at start

    const same = await call<{ joined: boolean; status: DaemonStatus }>("holochain.join_mesh", { network: "local" });
    expect(same).toMatchObject({ joined: false, status: { network: "local", phase: "running" } });

    const pinned = await call<{ installed: boolean; sha256: string }>("holochain.install_dna", { path: join(repoRoot, "happ", "ripple.happ") });
    expect(pinned.installed).toBe(true);
    expect(pinned.sha256).toBe(createHash("sha256").update(readFileSync(join(repoRoot, "happ", "ripple.happ"))).digest("hex"));
    const refused = await toolError("holochain.install_dna", { path: join(repoRoot, "dnas", "resource_mesh", "workdir", "resource_mesh.dna") });
    expect(refused).toMatch(/refused: .*resource_mesh\.dna is not this node's pinned hApp/);
    expect(refused).toContain("installs it itself");
  });

  it("resources.*: allocate shows in the list, release takes it out; the capacity of online peers", async () => {
    const available = await call<ResourcesView>("resources.query_available", { model: TINY });
    expect(available.peers).toHaveLength(1);
    expect(available.peers[0]).toMatchObject({ name: "mcp-node", self: true, allocatedByMe: 0 });
    expect(available.peers[0]!.models).toContain(TINY);
    expect(available.peers[0]!.maxConcurrentJobs).toBeGreaterThanOrEqual(1);
    const activeBefore = available.allocations.length;

    const t0 = Date.now();
    const { allocation } = await call<{ allocation: AllocationView }>("resources.allocate", { peer: "mcp-node", model: TINY, duration_s: 600 });
    expect(allocation).toMatchObject({ state: "active", role: "requester", resourceType: "inference", model: TINY, durationS: 600, provider: { name: "mcp-node" } });
    expect(allocation.allocation).toMatch(/^uhCkk[A-Za-z0-9_-]{48}$/);
    expect(allocation.expiresAtMs).toBeGreaterThanOrEqual(t0 + 600_000);
    expect(allocation.expiresAtMs).toBeLessThan(Date.now() + 600_000 + 1000);

    const listed = await call<ResourcesView>("resources.query_available", {});
    expect(listed.allocations.map((a) => a.allocation)).toContain(allocation.allocation);
    expect(listed.allocations).toHaveLength(activeBefore + 1);
    expect(listed.peers.find((p) => p.self)!.allocatedByMe).toBe(1);

    // A task scheduled under the allocation: an MOE job through resource_mesh.
    const scheduled = await call<ScheduleResult>("resources.schedule_task", { prompt: "Say yes.", experts: 2, max_tokens: 4, require_consensus: false, allocation: allocation.allocation }, 240_000);
    expect(scheduled.allocation?.allocation).toBe(allocation.allocation);
    expect(scheduled.trace_id).toBe(scheduled.result.trace_id);
    expect(scheduled.job).toMatch(/^uhCkk/);
    expect(scheduled.result.model_votes.length).toBeGreaterThanOrEqual(1);

    const { allocation: released } = await call<{ allocation: AllocationView }>("resources.release", { allocation: allocation.allocation, reason: "test done" });
    expect(released).toMatchObject({ allocation: allocation.allocation, state: "released" });
    const after = await call<ResourcesView>("resources.query_available", {});
    expect(after.allocations.map((a) => a.allocation)).not.toContain(allocation.allocation);
    expect(after.peers.find((p) => p.self)!.allocatedByMe).toBe(0);

    // Released already; and a schedule under it is refused.
    expect(await toolError("resources.release", { allocation: allocation.allocation })).toMatch(/already released/);
    expect(await toolError("resources.schedule_task", { prompt: "hi", allocation: allocation.allocation })).toMatch(/is released/);
    // A peer nobody knows, and a model the node does not serve.
    expect(await toolError("resources.allocate", { peer: "nobody", duration_s: 60 })).toMatch(/no peer "nobody".*Fix: name an online peer/);
    expect(await toolError("resources.allocate", { peer: "mcp-node", model: "no-such-model", duration_s: 60 })).toMatch(/does not serve model "no-such-model"/);
  });

  it("`ripple resources` allocates, lists and releases the same entries from the shell", async () => {
    const a = await node.cliJson<AllocationView>(["resources", "allocate", "--peer", "mcp-node", "--duration", "300", "--type", "cpu"]);
    expect(a).toMatchObject({ state: "active", resourceType: "cpu", durationS: 300, provider: { name: "mcp-node" }, model: null });
    const listed = await node.cliJson<ResourcesView>(["resources", "list"]);
    expect(listed.allocations.map((x) => x.allocation)).toContain(a.allocation);
    const table = await node.cli(["resources", "list"]);
    expect(table.stdout).toMatch(new RegExp(`${a.allocation}\\s+active\\s+requester\\s+mcp-node`));
    expect((await node.cliJson<AllocationView>(["resources", "release", a.allocation, "--reason", "shell test"])).state).toBe("released");
    const all = await node.cliJson<ResourcesView>(["resources", "list", "--all"]);
    expect(all.allocations.find((x) => x.allocation === a.allocation)?.state).toBe("released");
    expect((await node.cliJson<ResourcesView>(["resources", "list"])).allocations.map((x) => x.allocation)).not.toContain(a.allocation);
    const bad = await node.cli(["resources", "allocate", "--peer", "mcp-node", "--duration", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--duration.*must be a whole number from 1 to 604800/);
  });

  it("an allocation past its expiry is not listed as active", async () => {
    const { allocation } = await call<{ allocation: AllocationView }>("resources.allocate", { model: TINY, duration_s: 1 });
    expect(allocation.provider?.name).toBe("mcp-node"); // picked: the one peer serving the model
    await new Promise((r) => setTimeout(r, Math.max(0, allocation.expiresAtMs - Date.now()) + 200));
    const listed = await call<ResourcesView>("resources.query_available", {});
    expect(listed.allocations.map((a) => a.allocation)).not.toContain(allocation.allocation);
    expect(await toolError("resources.schedule_task", { prompt: "hi", allocation: allocation.allocation })).toMatch(/is expired/);
  });

  it("inference.*: an MOE query with the MoeResult shape, one model asked, load then unload", async () => {
    const moe = await call<MoeResult>("inference.moe_query", { prompt: "What is 2+2?", experts: 2, max_tokens: 4, require_consensus: false }, 240_000);
    expect(typeof moe.response).toBe("string");
    expect(moe.consensus_score).toBeGreaterThanOrEqual(0);
    expect(moe.consensus_score).toBeLessThanOrEqual(1);
    expect(moe.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(moe.job).toMatch(/^uhCkk/);
    expect(moe.model_votes.length).toBeGreaterThanOrEqual(1);
    for (const v of moe.model_votes) expect(v).toMatchObject({ model: TINY, peer: "mcp-node" });
    expect(moe.diversity).toBe("local");

    const single = await call<{ text: string; model: string; peer: string; tokens: number; traceId: string }>("inference.single_query", { model: TINY, messages: [{ role: "user", content: "Hello" }], max_tokens: 4 });
    expect(single).toMatchObject({ model: TINY, peer: "mcp-node" });
    expect(single.tokens).toBeLessThanOrEqual(4);
    expect(single.traceId.length).toBeGreaterThan(8);

    const loaded = await call<{ model: { name: string; loaded: boolean } }>("inference.load_model", { name: TINY });
    expect(loaded.model).toMatchObject({ name: TINY, loaded: true });
    const unloaded = await call<{ model: { name: string; loaded: boolean } }>("inference.unload_model", { name: TINY });
    expect(unloaded.model).toMatchObject({ name: TINY, loaded: false });
    expect(await toolError("inference.load_model", { name: "no-such-model" })).toMatch(/no-such-model/);
  });

  it("bad input is a tool error that names the field and the fix", async () => {
    const missing = await toolError("resources.allocate", { peer: "mcp-node" });
    expect(missing).toMatch(/duration_s is missing \(fix: set duration_s/);
    const range = await toolError("resources.allocate", { peer: "mcp-node", duration_s: 604801 });
    expect(range).toMatch(/duration_s must be a whole number from 1 to 604800/);
    const unknown = await toolError("inference.moe_query", { prompt: "hi", temperature: 2 });
    expect(unknown).toMatch(/unknown field "temperature" for inference\.moe_query \(fix: remove "temperature"; the fields are prompt, task_type/);
    const tooMany = await toolError("inference.moe_query", { prompt: "hi", experts: 17 });
    expect(tooMany).toMatch(/experts must be a whole number from 1 to 16/);
    const noPrompt = await toolError("inference.single_query", { model: TINY });
    expect(noPrompt).toMatch(/prompt is missing \(fix: send prompt or messages\)/);
    const badNetwork = await toolError("holochain.join_mesh", { network: "moon" });
    expect(badNetwork).toMatch(/network must be one of local, testnet, mainnet/);
    const badHash = await toolError("resources.release", { allocation: "not-a-hash" });
    expect(badHash).toMatch(/allocation must be an allocation hash/);
    expect(await toolError("resources.allocate", { duration_s: 60 })).toMatch(/peer is missing.*Fix: name a provider/);
  });
});
