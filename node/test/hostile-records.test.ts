// Readers against hostile records (issue #21, time and names), at unit level: which model
// registration `models pull` installs (pinned sha256 only; future-dated ones never "newest"; a
// squatted name refused; --any-publisher lists the candidates), the disk-room check before any
// fetch, `--peer` by unique name or agent key, and which claims count by the requester's clock.
// (Real daemons: artifacts-mesh.test.ts pulls through the API; peer-view and open-job-claimer tests
// cover liveness and open jobs.)
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeHashFromBase64 } from "@holochain/client";
import type { PeerInfo } from "@ripple-mesh/api-types";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { ArtifactView } from "../src/artifacts/artifact-service.ts";
import { assertDiskRoom, DiskRoomError, diskMargin, realFreeSpace } from "../src/artifacts/disk-room.ts";
import { chooseModelRegistration, ModelChoiceError } from "../src/artifacts/model-choice.ts";
import { ModelPullError, ModelShards } from "../src/artifacts/model-shards.ts";
import { createLogger } from "../src/log.ts";
import { defaultStoragePolicyFile, loadStoragePolicy, wantedModelNames } from "../src/config/storage-policy.ts";
import { resolvePeerRef } from "../src/mesh/peer-ref.ts";
import { everyKnownClaimIn, judgeSlotClaims } from "../src/moe/claim-window.ts";

const now = 1_800_000_000_000;
const clock = { nowMs: now, maxSkewMs: 30_000 };
const sha = (c: string) => c.repeat(64);
const key = (c: string) => "uhCAk" + c.repeat(48);
const QWEN = "qwen2.5-coder-0.5b-instruct-q4_k_m";

function reg(o: { sha256: string; author: string; atMs: number; cid?: string; name?: string; size?: number }): ArtifactView {
  return {
    cid: o.cid ?? `bafy${o.sha256.slice(0, 8)}${o.atMs}`,
    name: o.name ?? QWEN,
    kind: "model",
    size: o.size ?? 491_400_032,
    sha256: o.sha256,
    mime: "application/vnd.gguf; chunker=size-1048576; raw-leaves=1; cid-version=1",
    provenance: { job: null, model: null, agent: o.author, parent_cids: [] },
    author: o.author,
    registeredAtMs: o.atMs,
    actionHash: "uhCkk" + "h".repeat(48),
  };
}
/** Newest first, as artifact_index lists them. */
const newestFirst = (regs: ArtifactView[]) => [...regs].sort((a, b) => b.registeredAtMs - a.registeredAtMs);
const pins = (m: Record<string, string>) => (name: string) => m[name];
const thrown = (f: () => unknown): Error => {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
};

const wantDir = mkdtempSync("/tmp/rm-want-");
afterAll(() => rmSync(wantDir, { recursive: true, force: true }));

describe("which model registration a pull installs", () => {
  const honestOld = reg({ sha256: sha("a"), author: key("h"), atMs: now - 3_600_000 });
  const honestNew = reg({ sha256: sha("a"), author: key("h"), atMs: now - 60_000, cid: "bafyhonestnew" });
  const squat = reg({ sha256: sha("e"), author: key("m"), atMs: now - 1000, size: 2 ** 40 });
  const futurePinned = reg({ sha256: sha("a"), author: key("m"), atMs: now + 3_600_000, cid: "bafyfuture" });

  it("a name installs only its pinned sha256: the newest honest registration, never a squatter's newer one", () => {
    const found = newestFirst([honestOld, honestNew, squat, futurePinned]);
    expect(chooseModelRegistration(QWEN, false, found, {}, pins({ [QWEN]: sha("a") }), clock).cid).toBe("bafyhonestnew");
  });

  it("refuses a squatted name: no registration with the pinned sha256, the candidates named", () => {
    const err = thrown(() => chooseModelRegistration(QWEN, false, [squat], {}, pins({ [QWEN]: sha("a") }), clock));
    expect(err).toBeInstanceOf(ModelChoiceError);
    expect(err.message).toContain(`no registration of "${QWEN}" has the sha256 pinned here (${sha("a")})`);
    expect(err.message).toContain(`sha256 ${sha("e")} (1024.0 GiB, ${2 ** 40} bytes) published by ${key("m")}`);
  });

  it("an unpinned name needs --any-publisher, which lists every candidate with publishers and sizes and asks for --sha256", () => {
    const found = newestFirst([honestNew, squat]);
    const plain = thrown(() => chooseModelRegistration("some-model", false, found, {}, pins({}), clock));
    expect(plain.message).toMatch(/is not pinned here/);
    expect((plain as ModelChoiceError).fix).toMatch(/--any-publisher/);
    const listed = thrown(() => chooseModelRegistration("some-model", false, found, { anyPublisher: true }, pins({}), clock));
    expect(listed.message).toContain(`sha256 ${sha("a")} (0.458 GiB, 491400032 bytes) published by ${key("h")}`);
    expect(listed.message).toContain(`sha256 ${sha("e")}`);
    expect((listed as ModelChoiceError).fix).toContain("--sha256 HEX");
    expect(chooseModelRegistration("some-model", false, found, { anyPublisher: true, sha256: sha("e") }, pins({}), clock)).toBe(squat);
  });

  it("a registration whose content failed the checks here is passed over: the honest older one is pulled, not the bogus newest again", () => {
    // A peer registers the pinned sha256 over other content, newest of all: every want check would
    // pull it (gigabytes) and refuse it again, and the honest registration would never be reached.
    const bogus = reg({ sha256: sha("a"), author: key("m"), atMs: now - 1000, cid: "bafybogus" });
    const found = newestFirst([honestOld, honestNew, bogus]);
    expect(chooseModelRegistration(QWEN, false, found, {}, pins({ [QWEN]: sha("a") }), clock).cid).toBe("bafybogus");
    const failed = (a: ArtifactView) => a.cid === "bafybogus";
    expect(chooseModelRegistration(QWEN, false, found, {}, pins({ [QWEN]: sha("a") }), clock, failed).cid).toBe("bafyhonestnew");
    const all = thrown(() => chooseModelRegistration(QWEN, false, [bogus], {}, pins({ [QWEN]: sha("a") }), clock, failed));
    expect(all).toBeInstanceOf(ModelChoiceError);
    expect(all.message).toContain(`that could be pulled names content that failed the checks on this node: bafybogus (published by ${key("m")})`);
    expect(thrown(() => chooseModelRegistration("bafybogus", true, [bogus], {}, pins({}), clock, failed)).message).toMatch(/failed the checks on this node/);
    // By CID: the CID's honest registration (its true sha256) is still pulled past a bogus newer one.
    const honestOfCid = reg({ sha256: sha("a"), author: key("h"), atMs: now - 60_000, cid: "bafyshared" });
    const falseOfCid = reg({ sha256: sha("e"), author: key("m"), atMs: now - 1000, cid: "bafyshared" });
    const failedFalse = (a: ArtifactView) => a.sha256 === sha("e");
    expect(chooseModelRegistration("bafyshared", true, newestFirst([honestOfCid, falseOfCid]), {}, pins({}), clock, failedFalse)).toBe(honestOfCid);
    // ... and so does one whose name is pinned here to another file (it would be refused every time).
    expect(chooseModelRegistration("bafyshared", true, newestFirst([honestOfCid, falseOfCid]), {}, pins({ [QWEN]: sha("a") }), clock)).toBe(honestOfCid);
  });

  it("a future-dated registration is never the newest, and alone it is refused", () => {
    expect(chooseModelRegistration(QWEN, false, newestFirst([honestOld, futurePinned]), {}, pins({ [QWEN]: sha("a") }), clock)).toBe(honestOld);
    expect(thrown(() => chooseModelRegistration(QWEN, false, [futurePinned], {}, pins({ [QWEN]: sha("a") }), clock)).message).toMatch(/stamped beyond the allowed clock skew/);
  });

  it("a CID names its content, but not under a name pinned to another file", () => {
    expect(chooseModelRegistration("bafyx", true, [squat], { name: "other-name" }, pins({ [QWEN]: sha("a") }), clock)).toBe(squat);
    expect(thrown(() => chooseModelRegistration("bafyx", true, [squat], {}, pins({ [QWEN]: sha("a") }), clock)).message).toContain(`"${QWEN}" is pinned here to ${sha("a")}`);
  });

  it("the storage policy's want takes {name, sha256} as well as a name", () => {
    const file = join(wantDir, "storage_policy.yaml");
    writeFileSync(file, readFileSync(defaultStoragePolicyFile, "utf8").replace("want: []", `want: [${QWEN}, {name: tiny, sha256: ${sha("b")}}]`));
    const policy = loadStoragePolicy(file);
    expect(wantedModelNames(policy)).toEqual([QWEN, "tiny"]);
    writeFileSync(file, readFileSync(defaultStoragePolicyFile, "utf8").replace("want: []", `want: [{name: tiny, sha256: NOTHEX}]`));
    expect(() => loadStoragePolicy(file)).toThrow(/models\.want/);
  });
});

describe("a registration's name is a claim, not a path", () => {
  it("a pull by CID of a registration named like a path is refused before any path is built or any provider asked", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rm-pull-name-"));
    const evil = reg({ sha256: sha("e"), author: key("E"), atMs: Date.now() - 1000, cid: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", name: "../../../../tmp/autostart/x" });
    const providers = vi.fn(async () => []);
    const shards = new ModelShards({
      artifacts: { list: async () => [evil], providers } as never,
      store: { has: () => false, modelsDir: join(dir, "models") } as never,
      ipfs: {} as never,
      kubo: {} as never,
      peering: {} as never,
      policy: loadStoragePolicy(defaultStoragePolicyFile),
      networkDir: dir,
      log: createLogger("test", "silent"),
      onModelsChanged: async () => {},
      freeSpace: { free: () => 2 ** 50, device: () => 1 },
    });
    const err = (await shards.pull(evil.cid).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ModelPullError);
    expect(err.message).toContain('names the model "../../../../tmp/autostart/x", which is not a valid model name');
    expect((err as ModelPullError).fix).toContain("--name");
    expect(providers).not.toHaveBeenCalled();
    expect(readdirSync(dir)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("free disk before a pull", () => {
  const dir = mkdtempSync("/tmp/rm-disk-room-");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a 1 TiB registration on this machine's real disk, and accepts a small one", () => {
    const err = thrown(() => assertDiskRoom("the registration of huge", 2 ** 40, [dir]));
    expect(err).toBeInstanceOf(DiskRoomError);
    expect(err.message).toMatch(/declares 1099511627776 bytes \(1024\.00 GiB\).*nothing was fetched/);
    expect(() => assertDiskRoom("the registration of tiny", 1 << 20, [dir])).not.toThrow();
  });

  it("counts the size once per place on a shared filesystem (GGUF file and kubo's blocks), plus the margin", () => {
    const size = 1000 * 2 ** 20;
    const free = (bytes: number) => ({ free: () => bytes, device: () => 1 });
    expect(() => assertDiskRoom("m", size, ["/models", "/ipfs"], free(2 * size + diskMargin(size)))).not.toThrow();
    expect(() => assertDiskRoom("m", size, ["/models", "/ipfs"], free(2 * size + diskMargin(size) - 1))).toThrow(DiskRoomError);
    expect(() => assertDiskRoom("m", size, ["/models"], free(size + diskMargin(size)))).not.toThrow();
    expect(realFreeSpace.free(dir)).toBeGreaterThan(0);
  });
});

describe("--peer by name or agent key", () => {
  const peer = (name: string, agent: string, online = true) => ({ name, agent, online, self: false, hardwareClass: "cpu-laptop" }) as PeerInfo;
  const peers = [peer("alice", key("a")), peer("bob", key("b")), peer("bob", key("c"), false)];

  it("a unique name or any agent key picks that node; an unknown one picks none", () => {
    expect(resolvePeerRef(peers, "alice")?.agent).toBe(key("a"));
    expect(resolvePeerRef(peers, key("c"))?.agent).toBe(key("c"));
    expect(resolvePeerRef(peers, "carol")).toBeUndefined();
  });

  it("refuses a name two nodes share, naming both candidates", () => {
    const err = thrown(() => resolvePeerRef(peers, "bob"));
    expect(err.message).toContain(`2 nodes of this mesh are named "bob": ${key("b")} (online, cpu-laptop); ${key("c")} (offline, cpu-laptop)`);
  });
});

describe("claims judged by the requester's clock", () => {
  const window = { openedAtMs: now, closesAtMs: now + 5000 };
  const claim = (agent: string, atMs: number, slot = 0) => ({ author: decodeHashFromBase64(agent), timestamp: atMs * 1000, entry: { slot } });

  it("the best-ranked claimant stamped inside the window wins; claims stamped after it closed or before it opened do not count", () => {
    const [early, late, honest] = [key("e"), key("l"), key("h")];
    const claims = [claim(early, now - 60_000), claim(late, now + 3_600_000), claim(honest, now + 2000), claim(late, now + 1000, 1)];
    const ranked = [early, late, honest].map(decodeHashFromBase64);
    expect(judgeSlotClaims(0, claims, ranked, window)).toEqual({ winner: honest, outside: [early, late] });
    expect(judgeSlotClaims(1, claims, [decodeHashFromBase64(late)], window)).toEqual({ winner: late, outside: [] });
    expect(judgeSlotClaims(0, [claim(late, now + 3_600_000)], [decodeHashFromBase64(late)], window).winner).toBeUndefined();
  });

  it("closes the window early only once every peer that could claim each slot has a counted claim on it", () => {
    const [bob, carol, mallory] = [key("b"), key("c"), key("m")];
    const slots = [
      { slot: 0, eligible: [bob, carol] },
      { slot: 1, eligible: [carol] },
    ];
    const all = [claim(bob, now + 100), claim(carol, now + 200), claim(carol, now + 300, 1)];
    expect(everyKnownClaimIn(slots, all, window)).toBe(true);
    // One eligible peer silent on one slot: wait (its claim may still come).
    expect(everyKnownClaimIn(slots, all.slice(0, 2), window)).toBe(false);
    // A fast claimant nobody listed, or claims on other slots, do not stand in for it.
    expect(everyKnownClaimIn(slots, [...all.slice(0, 2), claim(mallory, now + 50, 1), claim(bob, now + 60, 1)], window)).toBe(false);
    // A claim stamped outside the window is not counted, so it cannot close the window either.
    expect(everyKnownClaimIn(slots, [claim(bob, now - 60_000), ...all.slice(1)], window)).toBe(false);
    expect(everyKnownClaimIn(slots, [claim(bob, now + 3_600_000), ...all.slice(1)], window)).toBe(false);
    // No known peer could claim a slot (only this node serves it, or its view missed a late
    // heartbeat): the window runs out, so a peer it missed still can.
    expect(everyKnownClaimIn([{ slot: 0, eligible: [] }], [], window)).toBe(false);
    expect(everyKnownClaimIn([...slots, { slot: 2, eligible: [] }], all, window)).toBe(false);
  });
});
