// `ripple mcp`: an MCP server (the official TypeScript SDK) over stdio that gives an AI client the
// node's tools — holochain.*, resources.*, inference.* (seed §11) — by calling the RUNNING node's local
// API (found through DATA_DIR/api.json at every call). stdout carries only the protocol; logs go to
// stderr.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Logger } from "../log.ts";
import { daemonLink } from "./daemon-link.ts";
import { holochainToolNames, registerHolochainTools } from "./holochain-tools.ts";
import { inferenceToolNames, registerInferenceTools } from "./inference-tools.ts";
import { registerResourceTools, resourceToolNames } from "./resource-tools.ts";

export const mcpToolNames = [...holochainToolNames, ...resourceToolNames, ...inferenceToolNames];

export function createMcpServer(opts: { dataDir: string; version: string }): McpServer {
  const server = new McpServer(
    { name: "ripple-mesh", title: "Ripple Mesh node", version: opts.version },
    {
      capabilities: { tools: {} },
      instructions:
        "Tools of a running Ripple Mesh node (a peer-to-peer inference mesh on Holochain): holochain.* for the mesh and this node, resources.* for peers' capacity and allocations, inference.* to ask the mesh (MOE) or one model. Start the node first with `ripple up`.",
    },
  );
  const link = daemonLink(opts.dataDir);
  registerHolochainTools(server, link);
  registerResourceTools(server, link);
  registerInferenceTools(server, link);
  return server;
}

/** Serves MCP on stdin/stdout until the client closes stdin (or the process is signalled). */
export async function serveMcpOverStdio(opts: { dataDir: string; version: string; log: Logger }): Promise<void> {
  const server = createMcpServer(opts);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once("end", () => resolve());
  });
  await server.connect(transport);
  opts.log.info({ dataDir: opts.dataDir, tools: mcpToolNames.length }, "MCP server listening on stdio");
  await closed;
  await server.close().catch(() => {});
}
