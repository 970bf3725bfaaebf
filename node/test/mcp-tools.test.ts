// The MCP server's tools without a node (in-process, the SDK's in-memory transport and its Client):
// every tool listed with a strict input schema; bad input refused before anything is called, naming
// the field and the fix; install_dna answered from the pinned hApp alone; and a call while no node
// runs says to start one. The tools against a running node: mcp.test.ts.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { happFile } from "../src/config/paths.mjs";
import { createMcpServer, mcpToolNames } from "../src/mcp/mcp-server.ts";

const dataDir = mkdtempSync("/tmp/rm-mcp-tools-");
let client: Client;

beforeAll(async () => {
  const server = createMcpServer({ dataDir, version: "0.0.0-test" });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: "mcp-tools-test", version: "1.0.0" });
  await client.connect(clientSide);
});
afterAll(async () => {
  await client?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
async function refused(name: string, args: Record<string, unknown>): Promise<string> {
  const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(r.isError, `${name} ${JSON.stringify(args)}: ${text(r)}`).toBe(true);
  return text(r);
}

describe("the MCP tools", () => {
  it("lists the 13 tools of the seed's three families, each with a strict object schema", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(mcpToolNames);
    expect(new Set(tools.map((t) => t.name.split(".")[0]))).toEqual(new Set(["holochain", "resources", "inference"]));
    for (const t of tools) expect(t.inputSchema, t.name).toMatchObject({ type: "object", additionalProperties: false });
    const single = tools.find((t) => t.name === "inference.single_query")!;
    expect(single.inputSchema).toMatchObject({ required: ["model"], properties: { messages: { type: "array", maxItems: 64 }, max_tokens: { type: "integer", minimum: 1, maximum: 2048 } } });
  });

  it("refuses bad input naming the field and the fix", async () => {
    expect(await refused("inference.moe_query", {})).toMatch(/prompt is missing \(fix: send a non-empty prompt/);
    expect(await refused("inference.moe_query", { prompt: "" })).toMatch(/prompt must not be empty/);
    expect(await refused("inference.moe_query", { prompt: "x".repeat(40_000) })).toMatch(/prompt must be at most 32768 characters/);
    expect(await refused("inference.moe_query", { prompt: "hi", max_tokens: 2.5 })).toMatch(/max_tokens must be a whole number from 1 to 2048 .*at max_tokens/);
    expect(await refused("inference.moe_query", { prompt: "hi", require_consensus: "yes" })).toMatch(/require_consensus must be true or false/);
    expect(await refused("inference.single_query", { model: "m", prompt: "a", messages: [{ role: "user", content: "b" }] })).toMatch(/prompt and messages were both sent \(fix: send one of them\)/);
    expect(await refused("inference.single_query", { model: "m", messages: [{ role: "robot", content: "b" }] })).toMatch(/messages\[\]\.role must be one of system, user, assistant/);
    expect(await refused("resources.allocate", { agent: "uhCAknope", duration_s: 5 })).toMatch(/agent must be an agent key/);
    expect(await refused("resources.allocate", { peer: "a", agent: `uhCAk${"A".repeat(48)}`, duration_s: 5 })).toMatch(/peer and agent were both given.*Fix: name the provider once/);
    expect(await refused("resources.allocate", { peer: "a", duration_s: 5, resource_type: "quantum" })).toMatch(/resource_type must be one of cpu, gpu, memory, storage, inference/);
    expect(await refused("resources.allocate", { peer: "a", duration_s: 5, locality: "eu\u001b[2J" })).toMatch(/locality must be free of control characters \(fix: give at most 32 bytes of UTF-8 without control characters/);
    // 12 characters, 36 bytes: resource_mesh counts bytes.
    expect(await refused("resources.allocate", { peer: "a", duration_s: 5, locality: "東京都渋谷区神宮前一丁目" })).toMatch(/locality is larger than 32 bytes of UTF-8/);
    expect(await refused("resources.release", { allocation: `uhCkk${"A".repeat(48)}`, reason: "done\n\u001b[2J" })).toMatch(/reason must be free of control characters/);
    expect(await refused("holochain.register_node", { force: true })).toMatch(/unknown field "force" for holochain.register_node \(fix: remove "force"; it takes no arguments\)/);
    expect(await refused("holochain.join_mesh", { network: "testnet", bootstrap_url: "ftp://x" })).toMatch(/bootstrap_url must be an http\(s\):\/\/ or ws\(s\):\/\/ URL/);
  });

  it("install_dna: the pinned hApp is reported installed, anything else refused with the reason", async () => {
    const ok = (await client.callTool({ name: "holochain.install_dna", arguments: { path: happFile } })) as CallToolResult;
    expect(ok.isError).toBeFalsy();
    expect(ok.structuredContent).toMatchObject({ installed: true, sha256: createHash("sha256").update(readFileSync(happFile)).digest("hex") });
    const other = join(dataDir, "evil.happ");
    writeFileSync(other, "not the pinned bundle");
    const why = await refused("holochain.install_dna", { path: other });
    expect(why).toContain(`refused: ${other} is not this node's pinned hApp`);
    expect(why).toMatch(/Fix: nothing to install: a Ripple node runs only its pinned hApp and installs it itself/);
    expect(await refused("holochain.install_dna", { path: join(dataDir, "missing.dna") })).toMatch(/refused: there is no file at .*missing\.dna \(ENOENT\)/);
    expect(await refused("holochain.install_dna", { path: dataDir })).toMatch(/is not a file/);
  });

  it("says to start the node when none runs for the data directory", async () => {
    expect(await refused("holochain.query_peers", {})).toMatch(/no daemon is running for data dir .*Fix: start one with `ripple up`/);
  });
});
