// `ripple mcp`: serve the node's tools to an AI client over MCP (stdio). The client starts this
// command itself (e.g. Claude Desktop's mcpServers config); it talks to the node running for
// --data-dir, which `ripple up` started. Loaded on use: other commands do not pay for the SDK.
import type { Command } from "commander";
import { packageVersion } from "../../config/package-version.ts";
import { pino } from "pino";
import { fail, globalOptions } from "../run.ts";

export function mcpCommand(program: Command): void {
  program
    .command("mcp")
    .description("serve this node's tools (holochain.*, resources.*, inference.*) to an AI client over MCP on stdin/stdout")
    .action(async (_opts: unknown, cmd: Command) => {
      try {
        const { dataDir } = globalOptions(cmd);
        // stdout is the protocol: logs go to stderr only.
        const log = pino({ name: "ripple-mcp", level: process.env.RIPPLE_LOG_LEVEL ?? "warn" }, pino.destination(2));
        const { serveMcpOverStdio } = await import("../../mcp/mcp-server.ts");
        await serveMcpOverStdio({ dataDir, version: packageVersion(), log });
        process.exit(0);
      } catch (err) {
        fail(err);
      }
    });
}
