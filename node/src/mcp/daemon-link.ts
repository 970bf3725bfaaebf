// How the MCP server reaches the running node: the node's local API, found through DATA_DIR/api.json
// at every call (the node may have been restarted on another port since the server started, or not be
// running yet: then the tool error says to run `ripple up`).
import { LocalApiClient } from "../api/api-client.ts";

export interface DaemonLink {
  readonly dataDir: string;
  client(): Promise<LocalApiClient>;
}

export function daemonLink(dataDir: string): DaemonLink {
  return { dataDir, client: () => LocalApiClient.forDataDir(dataDir, { timeoutMs: 30_000 }) };
}
