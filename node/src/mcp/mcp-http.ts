// MCP over streamable HTTP at POST /mcp on the node's local API, for AI clients that speak HTTP rather
// than spawning `ripple mcp`. Stateless (no session id; every request gets its own server and
// transport, so nothing is kept between calls) and behind the API's own guard: loopback Host/Origin
// checks and, when the node has one, its token. The tools are the same as over stdio and reach the
// node the same way (its api.json), so there is one implementation of each tool.
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { ApiApp } from "../api/api-reply.ts";
import type { Logger } from "../log.ts";
import { createMcpServer } from "./mcp-server.ts";

export const mcpHttpPath = "/mcp";

/** Registers POST /mcp (and a 405 naming POST for GET and DELETE, which stateless MCP does not use). */
export function mcpHttpRoutes(opts: { dataDir: string; version: string; log: Logger }): (app: ApiApp) => void {
  return (app) => {
    app.post(mcpHttpPath, async (req, reply) => {
      const server = createMcpServer(opts);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      reply.hijack();
      reply.raw.on("close", () => {
        void transport.close().catch(() => {});
        void server.close().catch(() => {});
      });
      try {
        await server.connect(transport);
        // The body was parsed (and bounded by the API's body limit) by fastify.
        await transport.handleRequest(req.raw, reply.raw, req.body);
      } catch (err) {
        opts.log.warn({ err }, "MCP request failed");
        if (!reply.raw.headersSent) reply.raw.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32603, message: "internal error" }, id: null }));
      }
    });
    for (const method of ["GET", "DELETE"] as const) {
      app.route({
        method,
        url: mcpHttpPath,
        handler: async (_req, reply) =>
          reply
            .code(405)
            .header("allow", "POST")
            .send({ error: { code: "method_not_allowed", message: `${method} ${mcpHttpPath}: this MCP endpoint is stateless (no sessions, no server-initiated stream)`, fix: "send MCP requests as POST with Accept: application/json, text/event-stream" } }),
      });
    }
  };
}
