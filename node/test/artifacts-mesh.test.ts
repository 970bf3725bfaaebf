// Artifacts and model shards on a real 2-node local mesh (real daemons, conductors, kubo nodes, the
// real default model), in the loopback-only namespace:
// - an artifact written on alice is read on bob by CID with a matching sha256; a job output above
//   the storage policy's inline threshold is stored in IPFS by the worker (alice) with its job as
//   provenance, and read on bob by CID with a matching hash;
// - a provider record written by bob for a CID he does not pin is detected and not trusted;
// - a model named in bob's storage policy (`models.want`) is fetched by bob on his own once alice
//   publishes it;
// - forged model registrations (truncated and tampered content) are rejected by `models pull`,
//   with nothing pinned, registered or left on disk;
// - a squatted name (Qwen's name registered with another sha256) is not installed by
//   `models pull NAME`, `--any-publisher` lists the candidates, and a registration declaring 1 TiB
//   is refused before any byte is fetched;
// - Gemma published by alice is pulled by bob straight from alice's file (direct transfer over
//   TLS-PSK, a ticket handed over libp2p), every block checked, then held and pinned by bob's kubo;
// - Qwen published by alice (and held by a second provider, a bare kubo in the mesh's swarm) is
//   pulled by bob by CID through kubo (`viaKubo`) with progress (streamed to the caller, and
//   announced on /v1/events every 2 s at most), blocks coming from both; the second provider is SIGKILLed
//   mid-transfer and the pull goes on from alice; then bob's own kubo is SIGKILLed, restarted by the
//   supervisor, and the pull resumes with the missing blocks and verifies sha256 + CID; alice then
//   stops and bob loads and generates with the pulled model.
// Rehosting (a model left with too few providers, and given back later): rehosting-mesh.test.ts.
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { LocalApiClient } from "../src/api/api-client.ts";
import type { PullProgress } from "../src/artifacts/model-shards.ts";
import type { ApiEvent } from "@ripple-mesh/api-types";
import { defaultStoragePolicyFile } from "../src/config/storage-policy.ts";
import { binDir, modelsDir } from "../src/config/paths.mjs";
import { pino } from "pino";
import { IpfsStore } from "../src/artifacts/ipfs-store.ts";
import { KuboNode } from "../src/artifacts/kubo-supervisor.ts";
import { loadNetworks } from "../src/config/networks.mjs";
import { loadStoragePolicy, modelChunking } from "../src/config/storage-policy.ts";
import { ripple, RippleDaemon } from "./support/ripple-process.ts";
import { peersOf, seesOnline, statusOf } from "./support/mesh-views.ts";
import { TestFleet } from "./support/test-fleet.ts";
import { waitFor } from "./support/wait-for.ts";

const QWEN = "qwen2.5-coder-0.5b-instruct-q4_k_m";
const QWEN_SHA = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32";
const TINY = "ripple-tiny-test";
const GEMMA = "gemma-3-270m-q4_k_m";


const fleet = new TestFleet();
const { diagnostics } = fleet;
const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");
const tmp = (prefix: string) => fleet.tempDir(prefix);

// Outputs above 8 bytes go to IPFS, so any real answer becomes an artifact.
const policyDir = tmp("rm-art-policy-");
const policyFile = join(policyDir, "storage_policy.yaml");
const policyText = readFileSync(defaultStoragePolicyFile, "utf8").replace("inline_output_max_bytes: 16384", "inline_output_max_bytes: 8").replace("inline_prompt_max_bytes: 16384", "inline_prompt_max_bytes: 8").replace("swarm_bind: lan", "swarm_bind: loopback");
writeFileSync(policyFile, policyText);
// bob's policy also wants the tiny model (that file: its sha256): he fetches it on his own once a peer publishes it.
const bobPolicyFile = join(policyDir, "bob_storage_policy.yaml");
const TINY_SHA = sha256(readFileSync(join(modelsDir(), `${TINY}.gguf`)));
writeFileSync(bobPolicyFile, policyText.replace("want: []", `want: [{name: ${TINY}, sha256: ${TINY_SHA}}]`).replace("want_check_interval_ms: 30000", "want_check_interval_ms: 3000"));

const startNode = (name: string, env: NodeJS.ProcessEnv = {}, policy = policyFile): RippleDaemon =>
  fleet.up(name, ["--no-measure", "--liveness-window", "8000", "--storage-policy", policy], { dataDir: tmp(`rm-art-${name}-`), env: { RIPPLE_TEST_ARTIFACTS: "1", ...env } });

async function kuboPinned(apiUrl: string, cid: string): Promise<boolean> {
  const res = await fetch(`${apiUrl}/api/v0/pin/ls?arg=${cid}&type=recursive`, { method: "POST" });
  return res.ok;
}

/** Collects a node's /v1/events from now on; `stop()` ends the stream. */
function watchEvents(client: LocalApiClient): { seen: ApiEvent[]; stop: () => void } {
  const seen: ApiEvent[] = [];
  const abort = new AbortController();
  void (async () => {
    for await (const e of client.events({ signal: abort.signal })) seen.push(e);
  })().catch(() => undefined);
  return { seen, stop: () => abort.abort() };
}

describe("artifacts and model shards on a 2-node local mesh", { timeout: 900_000 }, () => {
  let alice: RippleDaemon, bob: RippleDaemon;
  let a: LocalApiClient, b: LocalApiClient;
  let bobModels: string;

  it("starts two nodes, each with its own kubo, peered over the mesh", async () => {
    bobModels = tmp("rm-art-bob-models-");
    // bob starts with an empty models directory: every model must come from alice.
    alice = startNode("alice");
    bob = startNode("bob", { RIPPLE_MODELS_DIR: bobModels }, bobPolicyFile);
    await Promise.all([alice.waitUntilRunning(), bob.waitUntilRunning()]);
    const [sa, sb] = await Promise.all([statusOf(alice), statusOf(bob)]);
    await waitFor("alice and bob online to each other", async () => ((await seesOnline(alice, [sb.agentPubKey!])) && (await seesOnline(bob, [sa.agentPubKey!])) ? true : undefined), {
      timeoutMs: 180_000,
      diagnostics,
    });
    a = await LocalApiClient.forDataDir(alice.dataDir, { timeoutMs: 30_000 });
    b = await LocalApiClient.forDataDir(bob.dataDir, { timeoutMs: 30_000 });
    const [ia, ib] = await Promise.all([a.ipfs(), b.ipfs()]);
    expect(ia.running).toBe(true);
    expect(String(ia.apiUrl)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await waitFor("the two kubo nodes peered", async () => ((await b.ipfs()).connectedPeers as number) >= 1 ? true : undefined, { timeoutMs: 30_000 });
    console.log(`[artifacts] alice kubo ${String(ia.peerId)}, bob kubo ${String(ib.peerId)}`);
  });

  let secretCid = "";

  it("reads on bob, by CID, an artifact written on alice, with a matching sha256", async () => {
    const content = `ripple artifact ${randomBytes(16).toString("hex")}\n`.repeat(600); // ~30 KB
    const put = await a.putArtifact({ content, name: "test output", kind: "output" });
    expect(put.sha256).toBe(sha256(content));
    const t0 = Date.now();
    const got = await waitFor("bob reads the artifact", async () => b.artifactContent(put.cid, { timeoutMs: 30_000 }), { timeoutMs: 60_000 });
    expect(got.bytes.toString("utf8")).toBe(content);
    expect(got.sha256).toBe(put.sha256);
    const onBob = await waitFor("bob sees the registration", async () => ((await b.artifacts({ cid: put.cid }))[0] ?? undefined), { timeoutMs: 60_000 });
    expect(onBob).toMatchObject({ cid: put.cid, sha256: put.sha256, kind: "output", size: Buffer.byteLength(content) });
    expect(onBob.provenance.agent).toBe((await statusOf(alice)).agentPubKey);
    console.log(`[artifacts] ${put.cid} (${put.size} B) written on alice, read on bob in ${Date.now() - t0} ms`);

    // A second artifact bob never reads: the subject of bob's false provider record below.
    secretCid = (await a.putArtifact({ content: `not on bob ${randomBytes(8).toString("hex")}`, name: "secret" })).cid;
  });

  it("refuses, naming the field, an artifact whose name or mime holds a control character (artifact_index would)", async () => {
    const bodies: Array<[string, { name: string; mime?: string }]> = [
      ["name", { name: "x\u001b]52;c;aGk=\u0007" }],
      ["mime", { name: "ok", mime: "text/plain\r\nX: y" }],
    ];
    for (const [field, body] of bodies) {
      const err = await a.putArtifact({ content: "x", kind: "output", ...body }).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(new RegExp(`invalid artifact: ${field}: must not contain control characters`));
    }
  });

  it("stores a job output above the inline threshold in IPFS, with its job as provenance, readable on bob", async () => {
    // Only alice serves the tiny model under its pinned name, so she is the worker.
    const answer = await b.ask({ model: TINY, prompt: "Say something.", max_tokens: 24 });
    expect(answer.text.length).toBeGreaterThan(8);
    const want = sha256(answer.text);
    const artifact = await waitFor(
      "the output artifact on bob's view",
      async () => (await b.artifacts({ kind: "output" })).find((x) => x.sha256 === want && x.provenance.job !== null),
      { timeoutMs: 120_000 },
    );
    expect(artifact.provenance.model).toMatch(/^[0-9a-f]{64}$/);
    const got = await b.artifactContent(artifact.cid);
    expect(got.bytes.toString("utf8")).toBe(answer.text);
    expect(got.sha256).toBe(want);
    // The job's index link is another DHT record than the output listing's: it may reach bob later.
    const byJob = await waitFor("the output under its job on bob's view", async () => {
      const list = await b.artifacts({ job: artifact.provenance.job! });
      return list.some((x) => x.cid === artifact.cid) ? list : undefined;
    }, { timeoutMs: 60_000 });
    expect(byJob.map((x) => x.cid)).toContain(artifact.cid);
    // The job's prompt (its payload) was above the prompt threshold too: in IPFS, registered by bob.
    const prompt = await waitFor("the job's prompt artifact", async () => (await b.artifacts({ job: artifact.provenance.job! })).find((x) => x.kind === "prompt"), { timeoutMs: 60_000 });
    expect((await b.artifactContent(prompt.cid)).bytes.toString("utf8")).toContain("Say something.");
    console.log(`[artifacts] job output ${artifact.cid} (${artifact.size} B) by ${answer.peer}, job ${artifact.provenance.job}`);
  });

  it("detects a provider record for a CID its agent does not pin, and does not trust it", async () => {
    await (b as any).request("POST", `/v1/artifacts/${secretCid}/false-provider`);
    const providers = await waitFor(
      "alice sees two provider records",
      async () => {
        const list = await a.providers(secretCid, { verify: true });
        return list.length >= 2 ? list : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const self = providers.find((p) => p.self)!;
    const liar = providers.find((p) => !p.self)!;
    expect(self.verified).toBe(true);
    expect(liar.name).toBe("bob");
    expect(liar.verified).toBe(false);
    expect(liar.reason).toMatch(/does not pin|could not produce/);
    console.log(`[artifacts] bob's false provider record: not trusted (${liar.reason})`);
  });

  it("fetches a model the storage policy wants once a peer publishes it", async () => {
    const pub = await a.publishModel(TINY);
    expect(pub.cid).toMatch(/^baf[yk]/);
    const got = await waitFor("bob pulled the wanted tiny model on his own", async () => (await b.localModels()).find((m) => m.name === TINY), { timeoutMs: 120_000 });
    expect(got.sha256).toBe(pub.sha256);
    expect(got.file.startsWith(bobModels)).toBe(true);
    await waitFor("bob announced himself as a provider", async () => ((await b.providers(pub.cid)).some((p) => p.self) ? true : undefined), { timeoutMs: 30_000 });
    console.log(`[artifacts] bob auto-pulled ${TINY} (${pub.cid}) as the storage policy wants`);
  });

  it("rejects truncated and tampered model transfers: nothing pinned, registered or left on disk", async () => {
    // The "model" the forged registrations describe, and what their CIDs really hold.
    const full = randomBytes(20_000).toString("hex"); // 40,000 ASCII bytes
    const truncated = full.slice(0, 20_000);
    const tampered = `${full.slice(0, 30_000)}${full[30_000] === "a" ? "b" : "a"}${full.slice(30_001)}`;
    const truncatedCid = (await a.putArtifact({ content: truncated, name: "model head", kind: "bundle", mime: "application/octet-stream" })).cid;
    const tamperedCid = (await a.putArtifact({ content: tampered, name: "model tampered", kind: "bundle", mime: "application/octet-stream" })).cid;
    await (a as any).request("POST", "/v1/artifacts/forge-model", { cid: truncatedCid, name: "tiny-truncated", size: full.length, sha256: sha256(full) });
    await (a as any).request("POST", "/v1/artifacts/forge-model", { cid: tamperedCid, name: "tiny-tampered", size: full.length, sha256: sha256(full) });
    const bobIpfs = String((await b.ipfs()).apiUrl);
    const bobAgent = (await statusOf(bob)).agentPubKey;
    const events = watchEvents(b);
    onTestFinished(events.stop);
    await waitFor("bob's event stream open", async () => (events.seen.some((e) => e.type === "hello") ? true : undefined), { timeoutMs: 10_000 });
    for (const [name, cid] of [["tiny-truncated", truncatedCid], ["tiny-tampered", tamperedCid]] as const) {
      await waitFor(`bob sees ${name}`, async () => ((await b.artifacts({ name })).length ? true : undefined), { timeoutMs: 60_000 });
      // An explicit choice of the registered sha256 (the name is pinned nowhere).
      const err = await b.pullModel({ ref: name, sha256: sha256(full) }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err, `${name} must be rejected`).toBeInstanceOf(Error);
      expect(err!.message).toMatch(/registered with \d+ bytes and sha256/);
      console.log(`[artifacts] ${name} rejected: ${err!.message.slice(0, 160)}`);
      expect(await kuboPinned(bobIpfs, cid)).toBe(false);
      expect((await b.localModels()).map((m) => m.name)).not.toContain(name);
      const mine = (await b.artifacts({ cid })).filter((x) => x.author === bobAgent);
      expect(mine).toEqual([]);
      expect((await b.providers(cid)).some((p) => p.self)).toBe(false);
    }
    expect(readdirSync(bobModels).filter((f) => f.includes(".partial"))).toEqual([]);
    // Each failed pull is announced on /v1/events (and so on NATS), with why.
    await waitFor("bob's model:pull-failed events", async () => (events.seen.filter((e) => e.type === "model:pull-failed").length >= 2 ? true : undefined), { timeoutMs: 10_000 });
    const failed = events.seen.filter((e) => e.type === "model:pull-failed") as Array<Record<string, unknown>>;
    expect(failed.map((e) => e.ref)).toEqual(["tiny-truncated", "tiny-tampered"]);
    for (const e of failed) expect(String(e.error)).toMatch(/registered with \d+ bytes and sha256/);
  });

  it("does not install a squatted name, lists its candidates on request, and refuses 1 TiB before fetching", async () => {
    // mallory's registration of Qwen's name: content that is not the pinned Qwen file.
    const fake = randomBytes(4096).toString("hex");
    const fakeCid = (await a.putArtifact({ content: fake, name: "fake qwen", kind: "bundle", mime: "application/octet-stream" })).cid;
    await (a as any).request("POST", "/v1/artifacts/forge-model", { cid: fakeCid, name: QWEN, size: fake.length, sha256: sha256(fake) });
    const bobIpfs = String((await b.ipfs()).apiUrl);
    await waitFor(`bob sees the registration of ${QWEN}`, async () => ((await b.artifacts({ name: QWEN, kind: "model" })).length ? true : undefined), { timeoutMs: 60_000 });
    const refusal = (req: Parameters<LocalApiClient["pullModel"]>[0]) => b.pullModel(req).then(() => undefined, (e: Error) => e);
    const squatted = await refusal({ ref: QWEN });
    expect(squatted?.message).toContain(`no registration of "${QWEN}" has the sha256 pinned here (${QWEN_SHA})`);
    expect(squatted?.message).toContain(`sha256 ${sha256(fake)}`);
    const listed = await refusal({ ref: QWEN, anyPublisher: true });
    // Qwen's name is pinned: --any-publisher does not override the pin; an unpinned name lists its candidates.
    expect(listed?.message).toContain("pinned here");
    await (a as any).request("POST", "/v1/artifacts/forge-model", { cid: fakeCid, name: "anyones-model", size: fake.length, sha256: sha256(fake) });
    await waitFor("bob sees anyones-model", async () => ((await b.artifacts({ name: "anyones-model" })).length ? true : undefined), { timeoutMs: 60_000 });
    const aliceAgent = (await statusOf(alice)).agentPubKey!;
    expect((await refusal({ ref: "anyones-model" }))?.message).toMatch(/is not pinned here/);
    const candidates = await refusal({ ref: "anyones-model", anyPublisher: true });
    expect(candidates?.message).toContain(`sha256 ${sha256(fake)} (0.000 GiB, ${fake.length} bytes) published by ${aliceAgent}`);
    console.log(`[artifacts] squatted ${QWEN} refused: ${squatted!.message.slice(0, 200)}`);
    // A registration that declares 1 TiB: refused on disk room before any provider is asked or byte fetched.
    await (a as any).request("POST", "/v1/artifacts/forge-model", { cid: fakeCid, name: "huge-model", size: 2 ** 40, sha256: sha256(fake) });
    await waitFor("bob sees huge-model", async () => ((await b.artifacts({ name: "huge-model" })).length ? true : undefined), { timeoutMs: 60_000 });
    const t0 = performance.now();
    const huge = await refusal({ ref: "huge-model", sha256: sha256(fake) });
    expect(huge?.message).toMatch(/declares 1099511627776 bytes \(1024\.00 GiB\).*nothing was fetched/);
    console.log(`[artifacts] 1 TiB registration refused in ${Math.round(performance.now() - t0)} ms: ${huge!.message.slice(0, 200)}`);
    expect(await kuboPinned(bobIpfs, fakeCid)).toBe(false);
    expect((await b.localModels()).map((m) => m.name)).not.toContain(QWEN);
    expect(readdirSync(bobModels).filter((f) => f.includes(".partial") || f.startsWith("huge") || f.startsWith(QWEN))).toEqual([]);
  });

  it("pulls a model straight from its provider's file, then holds, pins and announces it in IPFS", async () => {
    const pub = await a.publishModel(GEMMA);
    await waitFor("bob sees Gemma and its provider", async () => ((await b.shards({})).find((r) => r.cid === pub.cid && r.replicas >= 1) ? true : undefined), { timeoutMs: 120_000 });
    const events = watchEvents(b);
    onTestFinished(events.stop);
    await waitFor("bob's event stream open", async () => (events.seen.some((e) => e.type === "hello") ? true : undefined), { timeoutMs: 10_000 });
    const pulled = await b.pullModel({ ref: pub.cid });
    expect(pulled).toMatchObject({ name: GEMMA, cid: pub.cid, sha256: pub.sha256, size: pub.size, alreadyPresent: false, directBytes: pub.size });
    // The pull is announced on /v1/events (and so on NATS): what, from whom, how.
    const announced = await waitFor("bob's model:pulled event", async () => events.seen.find((e) => e.type === "model:pulled"), { timeoutMs: 10_000 });
    expect(announced).toMatchObject({ name: GEMMA, cid: pub.cid, sha256: pub.sha256, bytes: pub.size, directBytes: pub.size, from: ["alice"] });
    expect(sha256(readFileSync(pulled.file))).toBe(pub.sha256);
    // bob's kubo holds every block itself now (it serves the model to others): an offline read matches.
    const bobApi = String((await b.ipfs()).apiUrl);
    const bobIpfs = new IpfsStore({ apiUrl: () => bobApi, timeoutMs: 60_000 });
    expect(await kuboPinned(bobApi, pub.cid)).toBe(true);
    const hash = createHash("sha256");
    for await (const chunk of bobIpfs.cat(pub.cid, { offline: true, timeoutMs: 60_000 })) hash.update(chunk);
    expect(hash.digest("hex")).toBe(pub.sha256);
    await waitFor("bob announced himself as a provider of Gemma", async () => ((await b.providers(pub.cid)).some((p) => p.self) ? true : undefined), { timeoutMs: 30_000 });
    console.log(`[artifacts] bob pulled ${GEMMA} straight from alice's file: transfer ${pulled.transferMs} ms (${(pub.size / 1e6 / (pulled.transferMs / 1000)).toFixed(0)} MB/s, sha256 + CID checked on the way)`);
  });

  it("pulls Qwen by CID from two providers with progress, survives one provider and then its own kubo being killed mid-transfer, then loads and generates on bob", async () => {
    // A second provider beside alice: a bare kubo in the mesh's private swarm holding the same
    // blocks, peered with bob's kubo (bitswap asks both). Added while alice publishes.
    const tCarol = performance.now();
    const carolDir = tmp("rm-art-carol-kubo-");
    const carol = await KuboNode.start({ ipfsBinary: join(binDir(), "ipfs"), repoDir: join(carolDir, "ipfs"), logFile: join(carolDir, "kubo.log"), privateSwarmSeed: loadNetworks().networks.local!.network_seed, swarmPort: 0, swarmBind: "loopback", log: pino({ level: "warn" }), restartPolicy: { initialDelayMs: 600_000, maxDelayMs: 600_000, stableAfterMs: 600_000 } });
    onTestFinished(() => carol.stop());
    const carolIpfs = new IpfsStore({ apiUrl: () => carol.endpoints.apiUrl, timeoutMs: 60_000 });
    const [published, carolCid] = await Promise.all([a.publishModel(QWEN), carolIpfs.addFile(join(modelsDir(), `${QWEN}.gguf`), modelChunking(loadStoragePolicy(policyFile)))]);
    expect(published.sha256).toBe(QWEN_SHA);
    expect(carolCid).toBe(published.cid);
    console.log(`[artifacts] alice published ${QWEN}: ${published.cid}, add ${published.addMs} ms, announce ${published.announceMs} ms; carol's bare kubo holds it too`);
    await waitFor("bob sees the model artifact and its provider", async () => ((await b.shards({})).find((r) => r.cid === published.cid && r.replicas >= 1) ? true : undefined), { timeoutMs: 120_000 });
    const bobApiUrl = String((await b.ipfs()).apiUrl);
    const bobIpfs = new IpfsStore({ apiUrl: () => bobApiUrl, timeoutMs: 10_000 });
    const carolId = await carolIpfs.id();
    await bobIpfs.peer(carolId.addrs[0]!);
    await waitFor("bob's kubo connected to carol's", async () => ((await bobIpfs.connectedPeers()).includes(carolId.peerId) ? true : undefined), { timeoutMs: 30_000 });
    const aliceKubo = String((await a.ipfs()).peerId);
    const received = async (peer: string) => {
      const res = await fetch(`${bobApiUrl}/api/v0/bitswap/ledger?arg=${peer}`, { method: "POST" });
      return Number(((await res.json()) as { Recv?: number }).Recv ?? 0);
    };
    console.log(`[artifacts] second provider ready ${Math.round(performance.now() - tCarol)} ms after its start (alice's publish alone: ${published.addMs + published.announceMs} ms)`);

    // Everyone else learns of the pull on /v1/events (and NATS): its progress every 2 s at most.
    const announced = watchEvents(b);
    onTestFinished(announced.stop);
    await waitFor("bob's event stream open", async () => (announced.seen.some((e) => e.type === "hello") ? true : undefined), { timeoutMs: 10_000 });
    const events: PullProgress[] = [];
    let killed = false;
    let carolKilledAt: number | null = null;
    let percent = 0;
    let probing = false;
    let ledger = { carol: 0, alice: 0 };
    const bobKuboPid = Number((await b.ipfs()).pid);
    const pulled = await b.pullModel(
      { ref: published.cid, viaKubo: true },
      {
        onProgress: (p) => {
          events.push(p);
          if (p.type !== "pull:progress") return;
          percent = Number(p.percent);
          if (carolKilledAt === null && !probing) {
            // Once both providers have sent blocks, carol dies mid-transfer.
            probing = true;
            void Promise.all([received(carolId.peerId), received(aliceKubo)]).then(([c, al]) => {
              probing = false;
              ledger = { carol: c, alice: al };
              if (c > 0 && al > 0 && carolKilledAt === null && percent < 60) {
                carolKilledAt = percent;
                console.log(`[artifacts] bob received ${c} B from carol and ${al} B from alice; SIGKILL carol's kubo at ${percent}%`);
                process.kill(carol.pid!, "SIGKILL");
                void carol.stop(); // no restart: carol stays dead
              }
            }, () => {
              probing = false; // bob's kubo is being restarted: ask again at the next progress
            });
          } else if (!killed && carolKilledAt !== null && percent > carolKilledAt) {
            killed = true;
            console.log(`[artifacts] SIGKILL bob's kubo (pid ${bobKuboPid}) at ${percent}%`);
            process.kill(bobKuboPid, "SIGKILL");
          }
        },
      },
    );
    expect(carolKilledAt, `carol killed mid-pull after serving blocks (bob's bitswap ledger: ${JSON.stringify(ledger)})`).not.toBeNull();
    expect(carolKilledAt!).toBeLessThan(100);
    expect(killed).toBe(true);
    expect(pulled).toMatchObject({ name: QWEN, cid: published.cid, sha256: QWEN_SHA, size: 491_400_064, alreadyPresent: false, directBytes: 0 });
    expect(pulled.resumed).toBeGreaterThanOrEqual(1);
    expect(events.some((e) => e.type === "pull:resumed")).toBe(true);
    expect(events.filter((e) => e.type === "pull:progress").length).toBeGreaterThan(2);
    const progress = announced.seen.filter((e) => e.type === "model:pull-progress") as Array<{ name: string; cid: string; bytes: number; total: number }>;
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(pulled.transferMs / 2000) + 1);
    expect(progress[0]).toMatchObject({ name: QWEN, cid: published.cid, total: 491_400_064 });
    const ipfsB = await b.ipfs();
    expect(ipfsB.restarts).toBe(1);
    expect(await kuboPinned(String(ipfsB.apiUrl), published.cid)).toBe(true);
    console.log(`[artifacts] bob pulled ${QWEN} in ${pulled.transferMs} ms (${(491.4 / (pulled.transferMs / 1000)).toFixed(0)} MB/s incl. the kills), verified in ${pulled.verifyMs} ms, resumed ${pulled.resumed}×`);

    // bob's provider record reaches alice through the DHT; both providers then prove they hold it.
    let last = "";
    const row = await waitFor(
      "alice counts 2 verified replicas",
      async () => {
        const r = (await a.shards({ verify: true })).find((x) => x.cid === published.cid);
        last = JSON.stringify(r?.providers.map((p) => [p.name, p.verified, p.reason]));
        return r && r.replicas === 2 ? r : undefined;
      },
      { timeoutMs: 60_000, diagnostics: async () => last },
    );
    expect(row.providers.every((p) => p.verified)).toBe(true);
    expect(row.underReplicated).toBe(false);

    // The capability now advertises the CID; bob serves Qwen alone once alice is gone.
    const sb = await statusOf(bob);
    await waitFor("alice sees bob's capability with Qwen's CID", async () => ((await peersOf(alice)).find((p) => p.agent === sb.agentPubKey)?.models.includes(QWEN) ? true : undefined), {
      timeoutMs: 60_000,
    });
    await alice.kill("SIGTERM");
    await waitFor("bob sees alice offline", async () => ((await peersOf(bob)).find((p) => p.name === "alice")?.online === false ? true : undefined), { timeoutMs: 60_000 });
    const loaded = await b.loadModel(QWEN);
    expect(loaded.loaded).toBe(true);
    const answer = await b.ask({ model: QWEN, prompt: "What is the capital of France? Answer with one word.", max_tokens: 8, temperature: 0 });
    expect(answer.peer).toBe("bob");
    expect(answer.text).toMatch(/Paris/i);
    console.log(`[artifacts] bob generated with the pulled Qwen: ${JSON.stringify(answer.text)}`);
  });
});
