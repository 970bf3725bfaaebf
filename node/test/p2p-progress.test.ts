// One request → progress frames → one result between real libp2p nodes: frames arrive in order
// before the result, a refusal arrives as a coded error, a stalled server trips the idle timeout,
// and a requester that gives up aborts the server's handler.
import { describe as suite, expect, it } from "vitest";
import { TimeoutError } from "../src/errors.ts";
import { P2pRemoteError } from "../src/p2p/p2p-errors.ts";
import { JsonRefusal } from "../src/p2p/json-stream.ts";
import { describe, startNode, waitFor, type TestNode } from "./p2p-helpers.ts";

const proto = "/ripple-mesh-test/progress/1.0.0";

async function boundPair(): Promise<{ server: TestNode; client: TestNode }> {
  const server = await startNode("server");
  const client = await startNode("client");
  await client.node.dial(server.node.multiaddrs()[0]!);
  await waitFor("both nodes to bind each other", () => server.node.boundPeers().length === 1 && client.node.boundPeers().length === 1, {
    diagnose: () => [server, client].map(describe),
  });
  return { server, client };
}

suite("p2p progress streams", () => {
  it("delivers every progress frame in order, then the result, and names the verified sender", async () => {
    const { server, client } = await boundPair();
    await server.node.handleProgress(
      proto,
      async (request, from, ctx) => {
        const { count } = request as { count: number };
        for (let i = 0; i < count; i++) await ctx.emit({ i });
        return { done: count, agent: Buffer.from(from.agentPubKey!).toString("hex") };
      },
      { maxBytes: 4096 },
    );
    const seen: unknown[] = [];
    const result = await client.node.requestProgress(server.node.peerId, proto, { count: 50 }, { timeoutMs: 5_000, maxBytes: 4096, onProgress: (p) => seen.push(p) });
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
    expect(result).toEqual({ done: 50, agent: Buffer.from(client.id.agentPubKey).toString("hex") });
  });

  it("turns a handler's refusal into a coded remote error", async () => {
    const { server, client } = await boundPair();
    await server.node.handleProgress(proto, async () => {
      throw new JsonRefusal("refused", "not for you");
    }, { maxBytes: 4096 });
    const err = await client.node.requestProgress(server.node.peerId, proto, {}, { timeoutMs: 5_000, maxBytes: 4096, onProgress: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(P2pRemoteError);
    expect((err as P2pRemoteError).code).toBe("refused");
    expect((err as Error).message).toMatch(/not for you/);
  });

  it("gives up on a silent server after the idle timeout and aborts the handler's signal", async () => {
    const { server, client } = await boundPair();
    let handlerAborted = false;
    await server.node.handleProgress(
      proto,
      async (_request, _from, ctx) => {
        await ctx.emit("started");
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
        handlerAborted = true;
        return null;
      },
      { maxBytes: 4096 },
    );
    const started = Date.now();
    const err = await client.node.requestProgress(server.node.peerId, proto, {}, { timeoutMs: 30_000, idleTimeoutMs: 700, maxBytes: 4096, onProgress: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/sent nothing for 700 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitFor("the server's handler to see the requester leave", () => handlerAborted, { timeoutMs: 5_000 });
  });
});
