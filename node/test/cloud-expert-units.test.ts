// The cloud tier's answer is read with its limit counted as the bytes arrive (http-body.ts): a
// provider that streams without end, or declares a huge body, fails its slot at the limit instead
// of being buffered until its time limit; a normal answer still votes.
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { CloudProvider } from "../src/config/inference-policy.ts";
import { callCloudExpert } from "../src/moe/cloud-expert.ts";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A provider endpoint answering every request with `answer`; resolves to its URL. */
async function endpoint(answer: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => answer(res));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

const provider = (url: string): CloudProvider => ({ name: "test", url, model: "m", api_key_env: "TEST_CLOUD_KEY", weight: 1, priority: 1, timeout_ms: 20_000, fallback_on_timeout: false });
const ask = (url: string) => callCloudExpert(provider(url), { prompt: "hi", instruction: "answer", maxTokens: 8, signal: new AbortController().signal, env: { TEST_CLOUD_KEY: "k" } }, 3);

describe("a cloud provider's answer, read within its limit", () => {
  it("a normal answer votes", async () => {
    const url = await endpoint((res) => res.end(JSON.stringify({ choices: [{ message: { content: "Lima" } }], usage: { completion_tokens: 2, prompt_tokens: 9 } })));
    const r = await ask(url);
    expect(r.ok && r.vote).toMatchObject({ output: "Lima", tokens: 2, prompt_tokens: 9, slot: 3, expert: "cloud:test" });
  });

  it("a body streamed without end fails the slot at 256 KiB, and the rest is not read", async () => {
    let written = 0;
    let closed = false;
    const url = await endpoint((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!closed && written < 512 * 2 ** 20) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      res.on("close", () => (closed = true));
      pump();
    });
    const started = performance.now();
    const r = await ask(url);
    expect(r).toMatchObject({ ok: false, slot: 3, error: "the response is over 262144 bytes", timedOut: false });
    expect(performance.now() - started).toBeLessThan(10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(written).toBeLessThan(64 * 2 ** 20);
  });

  it("a declared content-length over the limit fails the slot before its body is read", async () => {
    const url = await endpoint((res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(10 * 2 ** 20) });
      res.write("{");
    });
    const r = await ask(url);
    expect(r).toMatchObject({ ok: false, error: "the response is over 262144 bytes (its content-length says 10485760)" });
  });
});
