// MCP over streamable HTTP on the local API (POST /mcp): the SDK's client with its HTTP transport lists
// the same tools as over stdio and calls them against the API they are served by; the API's guard
// applies (a token-locked API refuses a client without the token, a foreign Origin is refused); bad
// input is a tool error naming the field; GET, which stateless MCP does not serve, says to POST.
// In-process: a local API with a small source, no daemon.
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalApi, type LocalApi } from "../src/api/local-api.ts";
import { createLogger } from "../src/log.ts";
import { mcpHttpPath, mcpHttpRoutes } from "../src/mcp/mcp-http.ts";
import { mcpToolNames } from "../src/mcp/mcp-server.ts";

const log = createLogger("test", "silent");
const token = "mcp-http-test-token-0123456789abcdef";
const dataDir = mkdtempSync("/tmp/rm-mcp-http-");
const status = { name: "node-a", phase: "running", network: "local", agentPubKey: "uhCAkA", relayUrl: null, conductor: { pid: 4242, restarts: 3 }, mesh: { state: "isolated", knownAgents: 0, visibleNodes: 0, onlineNodes: 0 } };
let api: LocalApi;

beforeAll(async () => {
  api = await startLocalApi({
    log,
    dataDir,
    token,
    source: { status: async () => status, peers: async () => [], shutdown: async () => {}, events: new EventEmitter() },
    routes: [mcpHttpRoutes({ dataDir, version: "0.0.0-test", log })],
  });
});
afterAll(async () => {
  await api?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function connect(headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: "mcp-http-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${api.url}${mcpHttpPath}`), { requestInit: { headers } }));
  return client;
}
const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");

describe("MCP over HTTP at /mcp", () => {
  it("lists the same tools as over stdio and calls one against the node that serves it", async () => {
    const client = await connect({ authorization: `Bearer ${token}` });
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(mcpToolNames);
      const r = (await client.callTool({ name: "holochain.init_conductor", arguments: {} })) as CallToolResult;
      expect(r.isError, text(r)).toBeFalsy();
      // The tool reached this API (through its api.json, with its token) and read the source's status.
      expect(JSON.parse(text(r))).toMatchObject({ phase: "running", running: true, pid: 4242, restarts: 3, network: "local" });
      const bad = (await client.callTool({ name: "holochain.query_peers", arguments: { online_only: "yes" } })) as CallToolResult;
      expect(bad.isError).toBe(true);
      expect(text(bad)).toMatch(/online_only/);
    } finally {
      await client.close();
    }
  });

  it("is behind the API's guard: no token → 401, a foreign Origin → 403", async () => {
    await expect(connect({})).rejects.toThrow(/"unauthorized".*this API requires a token/);
    await expect(connect({ authorization: `Bearer ${token}`, origin: "https://evil.example" })).rejects.toThrow(/cross-origin browser requests are refused/);
    const initialize = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };
    const post = (headers: Record<string, string>) => fetch(`${api.url}${mcpHttpPath}`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body: JSON.stringify(initialize) });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: `Bearer ${token}`, origin: "https://evil.example" })).status).toBe(403);
    expect((await post({ authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it("answers GET with 405 and says to POST (stateless: no server-initiated stream)", async () => {
    const res = await fetch(`${api.url}${mcpHttpPath}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(((await res.json()) as { error: { fix: string } }).error.fix).toMatch(/POST/);
  });
});
