// Closing a @holochain/client websocket client without hanging. Its close() resolves on the socket's
// "close" event, which a socket already closed (its conductor died: SIGKILL, crash) never fires
// again, so a stop that closed such a connection waited forever: a conductor killed just before the
// local mesh moved host left the move, and every zome call after it, stuck ("the conductor is not
// running"), seen once in chaos. A closed socket is left as it is; any other close is waited for at
// most CLOSE_WAIT_MS.
import { setTimeout as sleep } from "node:timers/promises";

export const CLOSE_WAIT_MS = 2000;

/** WebSocket readyState CLOSED. */
const CLOSED = 3;

/** The parts of a @holochain/client WsClient this uses (its socket is public but untyped here). */
export interface ClosableClient {
  close?: () => Promise<unknown>;
  socket?: { readyState?: number };
}

export async function closeClient(client: ClosableClient | undefined, waitMs = CLOSE_WAIT_MS): Promise<void> {
  if (!client?.close || client.socket?.readyState === CLOSED) return;
  await Promise.race([client.close().catch(() => {}), sleep(waitMs, undefined, { ref: false })]);
}
