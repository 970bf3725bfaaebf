// A node joins `testnet` through a bootstrap/relay server that runs on "another host" (a second
// network namespace behind a veth pair, as `ripple bootstrap serve` would run at an operator):
// it then sees the testnet's nodes and none of the local mesh it was on before.
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { readPreferences } from "../src/config/node-preferences.ts";
import { RippleDaemon } from "./support/ripple-process.ts";
import { waitFor } from "./support/wait-for.ts";
import { describeViews, peersOf, seesOnline, statusOf } from "./support/mesh-views.ts";
import { VethNamespace } from "./support/veth-namespace.ts";

const dirs: string[] = [];
const procs: RippleDaemon[] = [];
let ns: VethNamespace | undefined;

function track(p: RippleDaemon): RippleDaemon {
  dirs.push(p.dataDir);
  procs.push(p);
  return p;
}

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill("SIGTERM")));
  ns?.destroy();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 90_000);

const diagnostics = () => describeViews(procs.filter((p) => p.name !== "operator" && p.exitCode === undefined));

describe.runIf(VethNamespace.available())("joining testnet through another host's bootstrap server", { timeout: 300_000 }, () => {
  it("sees the testnet peers and none of the local ones", async () => {
    // Two nodes on the local mesh first (loopback only, before the veth exists).
    const lou = track(RippleDaemon.up("lou", RippleDaemon.tempDir("rm-lou-"), ["--no-measure"]));
    const xavier = track(RippleDaemon.up("xavier", RippleDaemon.tempDir("rm-xavier-"), ["--no-measure"]));
    await Promise.all([lou.waitUntilRunning(), xavier.waitUntilRunning()]);
    const [louAgent, xavierLocalAgent] = (await Promise.all([lou, xavier].map(async (n) => (await statusOf(n)).agentPubKey!))) as [string, string];
    await waitFor("lou and xavier see each other on local", async () => ((await seesOnline(xavier, [louAgent])) && (await seesOnline(lou, [xavierLocalAgent])) ? true : undefined), { timeoutMs: 120_000, intervalMs: 250, diagnostics });

    // The operator's host runs the testnet's bootstrap/relay server.
    ns = await VethNamespace.create();
    const url = `http://${ns.nsIp}:18787`;
    const operator = track(new RippleDaemon("operator", RippleDaemon.tempDir("rm-op-"), ["bootstrap", "serve", "--listen", `${ns.nsIp}:18787`], { wrap: ns.wrap }));
    await operator.waitForLog((l) => l.msg === "bootstrap/relay server listening", 30_000);

    const tess = track(RippleDaemon.up("tess", RippleDaemon.tempDir("rm-tess-"), ["--no-measure", "--network", "testnet", "--bootstrap", url]));
    await tess.waitUntilRunning();
    const tessAgent = (await statusOf(tess)).agentPubKey!;

    // xavier leaves the local mesh for testnet.
    const joined = await xavier.cli(["join", "testnet", "--bootstrap", url, "--json"]);
    expect(joined.code, joined.stderr).toBe(0);
    const status = await statusOf(xavier);
    expect(status.network).toBe("testnet");
    expect(status.relayUrl).toBe(url);
    expect(status.localHost).toBeNull();

    await waitFor("xavier sees tess on testnet", async () => ((await seesOnline(xavier, [tessAgent])) ? true : undefined), { timeoutMs: 120_000, intervalMs: 250, diagnostics });
    await waitFor("tess sees xavier", async () => ((await seesOnline(tess, [status.agentPubKey!])) ? true : undefined), { timeoutMs: 60_000, intervalMs: 250, diagnostics });
    const view = await peersOf(xavier);
    expect(view.map((p) => p.agent).sort()).toEqual([status.agentPubKey!, tessAgent].sort());
    expect(view.some((p) => p.agent === louAgent)).toBe(false);
    // And the local mesh never hears of the testnet node.
    expect((await peersOf(lou)).some((p) => p.agent === tessAgent)).toBe(false);

    // A switch that cannot work (nothing answers at that bootstrap URL) fails with the reason and
    // leaves xavier where it was, not in half a mesh.
    const failed = await xavier.cli(["join", "testnet", "--bootstrap", "http://127.0.0.1:9"]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/could not join testnet \(.*127\.0\.0\.1:9.*\); the node is back on testnet\. Fix: /);
    const after = await statusOf(xavier);
    expect(after.phase).toBe("running");
    // The next `ripple up` still joins where the node is, not the URL that failed.
    expect(readPreferences(xavier.dataDir)).toEqual({ network: "testnet", bootstrapUrl: url });
    expect(after.network).toBe("testnet");
    expect(after.relayUrl).toBe(url);
    await waitFor("xavier sees tess again after the failed switch", async () => ((await seesOnline(xavier, [tessAgent])) ? true : undefined), { timeoutMs: 120_000, intervalMs: 250, diagnostics });

    // With the operator's server down too, going back fails as well: xavier stays up in no mesh,
    // says so and why, and a later join puts it back in one.
    await operator.kill("SIGTERM");
    const stranded = await xavier.cli(["join", "testnet", "--bootstrap", "http://127.0.0.1:9"]);
    expect(stranded.code).not.toBe(0);
    expect(stranded.stderr).toMatch(/could not join testnet \(.*127\.0\.0\.1:9.*\), nor go back to testnet \(.*18787.*\): this node is in no mesh now/);
    const offline = await statusOf(xavier);
    expect(offline.phase).toBe("offline");
    expect(offline.offline?.message).toMatch(/nor go back to testnet/);
    expect(offline.offline?.fix).toMatch(/ripple join NETWORK/);
    expect(offline.conductor).toBeNull();
    expect(offline.network).toBe("testnet"); // the mesh it was last in (and the next `ripple up` joins), not the one it started on
    const shown = await xavier.cli(["status"]);
    expect(shown.stdout).toMatch(/^offline +could not join testnet .*Fix: /m);
    expect(readPreferences(xavier.dataDir)).toEqual({ network: "testnet", bootstrapUrl: url });
    // A failed join from there says the node is still in no mesh.
    const stillOut = await xavier.cli(["join", "testnet", "--bootstrap", "http://127.0.0.1:9"]);
    expect(stillOut.stderr).toMatch(/could not join testnet \(.*127\.0\.0\.1:9.*\): this node is in no mesh now\. Fix: .*ripple join NETWORK/);
    expect((await statusOf(xavier)).phase).toBe("offline");

    const operatorAgain = track(new RippleDaemon("operator", RippleDaemon.tempDir("rm-op2-"), ["bootstrap", "serve", "--listen", `${ns.nsIp}:18787`], { wrap: ns.wrap }));
    await operatorAgain.waitForLog((l) => l.msg === "bootstrap/relay server listening", 30_000);
    const rejoined = await xavier.cli(["join", "testnet", "--bootstrap", url, "--json"]);
    expect(rejoined.code, rejoined.stderr).toBe(0);
    const back = await statusOf(xavier);
    expect(back.phase).toBe("running");
    expect(back.offline).toBeUndefined();
    expect(back.network).toBe("testnet");
    expect(readPreferences(xavier.dataDir)).toEqual({ network: "testnet", bootstrapUrl: url });
  });
});
