// One JSON request → one JSON response between real nodes: roundtrip with the caller's verified
// identity, size limits on both sides with named errors, and bound-only vs allowUnbound protocols.
import { describe as suite, expect, it } from "vitest";
import { TimeoutError } from "../src/errors.ts";
import { P2pMessageTooLargeError, P2pRemoteError } from "../src/p2p/p2p-errors.ts";
import { describe, startNode, waitFor, type TestNode } from "./p2p-helpers.ts";

const echo = "/ripple-mesh-test/echo/1.0.0";

async function boundPair(serverOpts: Parameters<typeof startNode>[1] = {}): Promise<{ server: TestNode; client: TestNode }> {
  const server = await startNode("server", serverOpts);
  const client = await startNode("client");
  await client.node.dial(server.node.multiaddrs()[0]!);
  await waitFor("both nodes to bind each other", () => server.node.boundPeers().length === 1 && client.node.boundPeers().length === 1, {
    diagnose: () => [server, client].map(describe),
  });
  return { server, client };
}

async function serveEcho(server: TestNode, maxBytes: number): Promise<void> {
  await server.node.handleJson(
    echo,
    async (request, from) => ({ request, from: from.peerId, agent: from.agentPubKey && Buffer.from(from.agentPubKey).toString("hex") }),
    { maxBytes },
  );
}

suite("p2p JSON request/response", () => {
  it("roundtrips a request and tells the handler who asked (peer id and verified agent key)", async () => {
    const { server, client } = await boundPair();
    await serveEcho(server, 64 * 1024);
    const request = { question: "who hosts?", n: 42, nested: { list: [1, "two", null] } };
    const result = await client.node.requestJson(server.node.peerId, echo, request, { timeoutMs: 5_000, maxBytes: 64 * 1024 });
    expect(result).toEqual({ request, from: client.node.peerId, agent: Buffer.from(client.id.agentPubKey).toString("hex") });
  });

  it("refuses an oversize request with a clear error and keeps serving", async () => {
    const { server, client } = await boundPair();
    await serveEcho(server, 1024);
    const opts = { timeoutMs: 5_000, maxBytes: 8 * 1024 * 1024 };
    for (const size of [10 * 1024, 3 * 1024 * 1024]) {
      // 3 MiB is many yamux windows: the server must keep draining it while it refuses.
      const err = await client.node.requestJson(server.node.peerId, echo, { blob: "x".repeat(size) }, opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(P2pRemoteError);
      expect((err as P2pRemoteError).code).toBe("too-large");
      expect((err as Error).message).toMatch(new RegExp(`request of ${size + 11} bytes is larger than this peer's limit of 1024 bytes`));
    }
    // The server still answers, on the same connection.
    await expect(client.node.requestJson(server.node.peerId, echo, { small: true }, opts)).resolves.toMatchObject({ request: { small: true } });
    expect(client.node.connectedPeers()).toEqual([server.node.peerId]);
  });

  it("enforces the client's own limit on its request and on the response", async () => {
    const { server, client } = await boundPair();
    await server.node.handleJson(echo, async () => ({ big: "y".repeat(4096) }), { maxBytes: 64 * 1024 });
    await expect(client.node.requestJson(server.node.peerId, echo, { blob: "x".repeat(2048) }, { timeoutMs: 5_000, maxBytes: 1024 })).rejects.toThrow(
      P2pMessageTooLargeError,
    );
    const err = await client.node.requestJson(server.node.peerId, echo, {}, { timeoutMs: 5_000, maxBytes: 1024 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(P2pMessageTooLargeError);
    expect((err as Error).message).toMatch(/the response is \d+ bytes, over the limit of 1024/);
  });

  it("names handler failures and timeouts", async () => {
    const { server, client } = await boundPair();
    await server.node.handleJson("/ripple-mesh-test/fails/1.0.0", async () => Promise.reject(new Error("model not loaded")), { maxBytes: 1024 });
    await server.node.handleJson("/ripple-mesh-test/hangs/1.0.0", () => new Promise(() => {}), { maxBytes: 1024 });
    const failed = await client.node.requestJson(server.node.peerId, "/ripple-mesh-test/fails/1.0.0", {}, { timeoutMs: 5_000, maxBytes: 1024 }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(P2pRemoteError);
    expect((failed as P2pRemoteError).code).toBe("handler-error");
    expect((failed as Error).message).toMatch(/model not loaded/);
    const started = Date.now();
    await expect(client.node.requestJson(server.node.peerId, "/ripple-mesh-test/hangs/1.0.0", {}, { timeoutMs: 300, maxBytes: 1024 })).rejects.toThrow(TimeoutError);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("serves unbound peers only on allowUnbound protocols", async () => {
    const server = await startNode("server", { unboundGraceMs: 200 });
    // No binding: the server's handshake with it stays pending, so it is connected but never bound.
    const unbound = await startNode("unbound", { binding: undefined });
    const bound = await startNode("bound");
    await server.node.handleJson("/ripple-mesh-test/bound-only/1.0.0", async (_req, from) => ({ from: from.peerId }), { maxBytes: 1024 });
    await server.node.handleJson("/ripple-mesh-test/open/1.0.0", async (_req, from) => ({ from: from.peerId, hasAgent: from.agentPubKey !== undefined }), {
      maxBytes: 1024,
      allowUnbound: true,
    });
    await unbound.node.dial(server.node.multiaddrs()[0]!);
    await bound.node.dial(server.node.multiaddrs()[0]!);
    await waitFor("the bound peer to be bound", () => server.node.boundPeers().some((p) => p.peerId === bound.node.peerId), { diagnose: () => describe(server) });
    const opts = { timeoutMs: 5_000, maxBytes: 1024 };

    const refused = await unbound.node.requestJson(server.node.peerId, "/ripple-mesh-test/bound-only/1.0.0", {}, opts).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(P2pRemoteError);
    expect((refused as P2pRemoteError).code).toBe("unbound");
    expect((refused as Error).message).toContain(unbound.node.peerId);
    await expect(unbound.node.requestJson(server.node.peerId, "/ripple-mesh-test/open/1.0.0", {}, opts)).resolves.toEqual({ from: unbound.node.peerId, hasAgent: false });

    // The same protocols serve a bound peer, which is known by its agent key.
    await expect(bound.node.requestJson(server.node.peerId, "/ripple-mesh-test/bound-only/1.0.0", {}, opts)).resolves.toEqual({ from: bound.node.peerId });
    await expect(bound.node.requestJson(server.node.peerId, "/ripple-mesh-test/open/1.0.0", {}, opts)).resolves.toEqual({ from: bound.node.peerId, hasAgent: true });
    expect(server.node.boundPeers().map((p) => p.peerId)).toEqual([bound.node.peerId]);
    expect(server.node.connectedPeers()).toContain(unbound.node.peerId);
  });
});
