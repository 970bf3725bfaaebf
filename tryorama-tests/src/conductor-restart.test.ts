// The supervisor keeps the conductor alive: after SIGKILL it restarts it, reconnects, and the
// data written before is still there under the same agent key. A daemon restart (stop, then a new
// supervisor on the same data directory) reuses the hApp, the agent and the signing credentials.
import { readFileSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeHashToBase64 } from "@holochain/client";
import type { BootstrapServer } from "@ripple-mesh/node/src/bootstrap/bootstrap-server.ts";
import { nodePaths } from "@ripple-mesh/node/src/config/node-paths.ts";
import type { Toolchain } from "@ripple-mesh/node/src/config/toolchain.ts";
import { capabilityOf, makeNode, startBootstrap, startNode, stopAll, tempDir, toolchain, waitFor, type TestNode } from "./harness.ts";

describe("conductor supervision", () => {
  let tc: Toolchain;
  let bootstrap: BootstrapServer;
  let node: TestNode;
  const seed = `restart-${Date.now()}`;

  beforeAll(async () => {
    tc = await toolchain();
    bootstrap = await startBootstrap(tc, tempDir());
    node = await startNode(tc, "phoenix", bootstrap.url, seed);
  });
  afterAll(() => stopAll([node], bootstrap));

  it("restarts a SIGKILLed conductor and keeps the data written before", async () => {
    const agentBefore = encodeHashToBase64(node.conductor.agentPubKey);
    const written = encodeHashToBase64(await node.registry.publishCapability(await capabilityOf(node)));
    const pidBefore = node.conductor.pid!;

    process.kill(pidBefore, "SIGKILL");
    await waitFor("the supervisor to restart the conductor", async () => (node.conductor.restarts >= 1 ? true : undefined), { timeoutMs: 60_000 });
    await node.conductor.ready(60_000);

    expect(node.conductor.pid).not.toBe(pidBefore);
    expect(encodeHashToBase64(node.conductor.agentPubKey)).toBe(agentBefore);
    const records = await node.registry.listCapabilities();
    expect(records.map((r) => encodeHashToBase64(r.action_hash))).toContain(written);
    // And the restarted conductor accepts new writes with the restored signing credentials.
    await node.registry.publishCapability(await capabilityOf(node, { hardwareClass: "cpu-medium" }));
  });

  it("reuses the agent, the data and the signing credentials across a daemon restart", async () => {
    const paths = nodePaths(node.dataDir);
    const agentBefore = encodeHashToBase64(node.conductor.agentPubKey);
    const credentialsBefore = readFileSync(paths.signingCredentials, "utf8");
    expect(statSync(paths.signingCredentials).mode & 0o777).toBe(0o600);
    expect(statSync(paths.lairPassphrase).mode & 0o777).toBe(0o600);
    const countBefore = (await node.registry.listCapabilities()).length;

    await node.conductor.stop();
    node = makeNode(tc, "phoenix", node.dataDir, bootstrap.url, seed);
    await node.conductor.start();

    expect(encodeHashToBase64(node.conductor.agentPubKey)).toBe(agentBefore);
    expect(readFileSync(paths.signingCredentials, "utf8")).toBe(credentialsBefore);
    expect((await node.registry.listCapabilities()).length).toBe(countBefore);
    await node.registry.publishCapability(await capabilityOf(node, { hardwareClass: "cpu-large" }));
    expect((await node.registry.listCapabilities()).length).toBe(countBefore + 1);
  });
});
