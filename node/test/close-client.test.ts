// Closing a @holochain/client connection whose conductor died (conductor/close-client.ts): the
// client's own close() waits for a "close" event that a closed socket never fires again, which once
// left a stopping conductor, and the mesh's move to a new host, waiting forever (chaos).
import { WsClient } from "@holochain/client";
import { WebSocketServer } from "ws";
import { afterAll, describe, expect, it } from "vitest";
import { closeClient, type ClosableClient } from "../src/conductor/close-client.ts";

const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
const serverSockets: import("ws").WebSocket[] = [];
server.on("connection", (s) => serverSockets.push(s));
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function connected(): Promise<WsClient & ClosableClient> {
  await new Promise<void>((r) => (server.address() ? r() : server.once("listening", () => r())));
  const { port } = server.address() as { port: number };
  const before = serverSockets.length;
  const client = (await WsClient.connect(new URL(`ws://127.0.0.1:${port}`))) as WsClient & ClosableClient;
  while (serverSockets.length === before) await new Promise((r) => setTimeout(r, 10));
  return client;
}

const within = async (ms: number, p: Promise<unknown>) => Promise.race([p.then(() => "done"), new Promise((r) => setTimeout(() => r("pending"), ms))]);

describe("closeClient", () => {
  it("returns at once for a connection whose peer already went away", async () => {
    const client = await connected();
    serverSockets.at(-1)!.terminate(); // the conductor is SIGKILLed
    while (client.socket?.readyState !== 3) await new Promise((r) => setTimeout(r, 10));
    const t0 = performance.now();
    expect(await within(1000, closeClient(client, 60_000))).toBe("done");
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("closes a live connection (the peer sees it close)", async () => {
    const client = await connected();
    const peer = serverSockets.at(-1)!;
    const seen = new Promise<number>((r) => peer.once("close", (code) => r(code)));
    expect(await within(2000, closeClient(client))).toBe("done");
    expect(await seen).toBe(1000);
  });

  it("gives up waiting after waitMs when the close event never comes", async () => {
    const stuck: ClosableClient = { close: () => new Promise(() => {}), socket: { readyState: 1 } };
    const t0 = performance.now();
    await closeClient(stuck, 200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(performance.now() - t0).toBeLessThan(1500);
  });
});
