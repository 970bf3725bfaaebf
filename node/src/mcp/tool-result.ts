// What an MCP tool answers: the value as JSON text (for clients that read text) and as structured
// content (for those that read objects). A failure is thrown as a RippleError: the SDK turns it into
// a tool error (isError) whose text is the message and its fix.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

export function jsonResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }], structuredContent: value };
}
