// The local bootstrap/relay server is supervised like the conductor: killed, it comes back on the
// same address, so the URL every conductor was configured with keeps working.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapServer } from "@ripple-mesh/node/src/bootstrap/bootstrap-server.ts";
import { startBootstrap, tempDir, toolchain, waitFor } from "./harness.ts";

describe("bootstrap/relay server supervision", () => {
  let server: BootstrapServer;
  beforeAll(async () => {
    server = await startBootstrap(await toolchain(), tempDir());
  });
  afterAll(() => server.stop());

  it("restarts a SIGKILLed server on the same URL", async () => {
    const url = server.url;
    const pid = server.pid!;
    expect((await fetch(`${url}/health`)).ok).toBe(true);
    process.kill(pid, "SIGKILL");
    await waitFor("the bootstrap server to restart", async () => (server.restarts >= 1 ? true : undefined), { timeoutMs: 30_000 });
    expect(server.url).toBe(url);
    expect(server.pid).not.toBe(pid);
    expect((await fetch(`${url}/health`)).ok).toBe(true);
  });
});
