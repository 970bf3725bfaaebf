// Rehosting under-replicated models (storage policy `replication.rehost`): which node takes its turn
// (the same order on every node), how the turn widens while nobody helps, what is never taken on
// (unpinned or differently pinned names, another file under the name, beyond the budget), and the
// runner: verified recount, the pull, the budget kept across restarts in rehosted.json.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProviderView, ShardRow } from "@ripple-mesh/api-types";
import { afterAll, describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import { ArtifactService, type ArtifactServiceOptions } from "../src/artifacts/artifact-service.ts";
import { giveBackModel } from "../src/artifacts/model-give-back.ts";
import { ModelRehosting, type ModelRehostingOptions } from "../src/artifacts/model-rehosting.ts";
import { modelsDir as realModelsDir } from "../src/config/paths.mjs";
import { ModelStore } from "../src/inference/model-store.ts";
import {
  GIVE_BACK_AFTER_CHECKS,
  nextMissedChecks,
  nextSurplusChecks,
  planGiveBack,
  planRehosting,
  providerOrder,
  rehostRankKey,
  type GiveBackInput,
  type RehostInput,
} from "../src/artifacts/rehost-plan.ts";
import { defaultStoragePolicyFile, loadStoragePolicy, StoragePolicyError } from "../src/config/storage-policy.ts";
import { createLogger } from "../src/log.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";

const dir = mkdtempSync("/tmp/rm-rehost-units-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SHA = "a".repeat(64);
const OTHER_SHA = "b".repeat(64);
const agents = ["uhCAkalice", "uhCAkbob", "uhCAkcarol", "uhCAkdave", "uhCAkerin"];

function provider(agent: string, o: Partial<ProviderView> = {}): ProviderView {
  return { agent, name: agent.slice(5), peerId: null, online: true, self: false, sinceMs: agents.indexOf(agent) * 1000, verified: null, reason: null, ...o };
}

function row(o: Partial<ShardRow> & { providers?: ProviderView[] } = {}): ShardRow {
  const providers = o.providers ?? [provider(agents[0]!)];
  const replicas = o.replicas ?? providers.filter((p) => p.online).length;
  const minProviders = o.minProviders ?? 2;
  return { name: "qwen", cid: "bafyqwen", sha256: SHA, size: 400e6, publishedBy: [agents[0]!], local: false, ...o, providers, replicas, minProviders, underReplicated: replicas < minProviders };
}

function input(self: string, o: Partial<RehostInput> = {}): RehostInput {
  return { rows: [row()], self, onlinePeers: agents, pinnedSha256: () => SHA, holds: () => false, budgetLeftBytes: 20e9, missedChecks: new Map(), ...o };
}

/** The helpers of `cid` (every agent but the providers) in the order every node computes. */
const order = (cid: string, helpers: string[]) => [...helpers].sort((a, b) => rehostRankKey(cid, a).localeCompare(rehostRankKey(cid, b)));

describe("planRehosting: whose turn", () => {
  it("has exactly as many helpers pull as the model is short, the same ones whichever node computes it", () => {
    const helpers = agents.slice(1);
    const ranked = order("bafyqwen", helpers);
    const pulling = helpers.filter((self) => planRehosting(input(self))[0]!.action === "pull");
    expect(pulling).toEqual([ranked[0]]); // 1 provider of 2: one helper, the first in the order
    const shortTwo = helpers.filter((self) => planRehosting(input(self, { rows: [row({ minProviders: 3 })] }))[0]!.action === "pull");
    expect(shortTwo.sort()).toEqual(ranked.slice(0, 2).sort());
    // Another CID, another order: the load spreads over helpers.
    const orders = new Set(["bafy1", "bafy2", "bafy3", "bafy4", "bafy5", "bafy6"].map((cid) => order(cid, helpers)[0]));
    expect(orders.size).toBeGreaterThan(1);
  });

  it("widens the turn by one helper per check that still found the model short", () => {
    const ranked = order("bafyqwen", agents.slice(1));
    const last = ranked[3]!;
    let missed = new Map<string, number>();
    const actions: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = planRehosting(input(last, { missedChecks: missed }));
      actions.push(d[0]!.action);
      missed = nextMissedChecks(missed, d);
    }
    expect(actions).toEqual(["wait", "wait", "wait", "pull"]);
    // A model that is no longer short starts again from its first turn.
    expect(nextMissedChecks(new Map([["bafyqwen", 3]]), []).size).toBe(0);
  });

  it("never counts a provider as a helper, nor itself when it is listed as a provider", () => {
    const providers = [provider(agents[0]!), provider(agents[1]!, { online: false })];
    const r = row({ providers });
    const d = planRehosting(input(agents[0]!, { rows: [r] }));
    expect(d[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("listed as one of its providers") });
    // An offline provider is no replica: it may help like anyone (its own copy counts once it is back).
    const ranks = agents.slice(1).map((a) => (planRehosting(input(a, { rows: [r] }))[0] as { rank: number }).rank);
    expect(ranks.sort()).toEqual([0, 1, 2, 3]);
  });

  it("takes on only what this node pins, does not hold under the name, and fits the budget", () => {
    const first = order("bafyqwen", agents.slice(1))[0]!;
    expect(planRehosting(input(first, { pinnedSha256: () => undefined }))[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("no sha256 is pinned") });
    expect(planRehosting(input(first, { pinnedSha256: () => OTHER_SHA }))[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("not the one pinned") });
    expect(planRehosting(input(first, { holds: () => true }))[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("another file under this name") });
    expect(planRehosting(input(first, { budgetLeftBytes: 399e6 }))[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("budget") });
    // Two pulls in one check must fit together.
    const rows = [row(), row({ name: "qwen2", cid: "bafyqwen" })];
    const both = planRehosting(input(first, { rows, budgetLeftBytes: 500e6 }));
    expect(both.map((d) => d.action)).toEqual(["pull", "skip"]);
  });

  it("leaves alone models that are well replicated or already pinned here", () => {
    expect(planRehosting(input(agents[1]!, { rows: [row({ providers: [provider(agents[0]!), provider(agents[2]!)] })] }))).toEqual([]);
    expect(planRehosting(input(agents[1]!, { rows: [row({ local: true })] }))).toEqual([]);
  });
});

describe("planGiveBack: which rehosted copies go back", () => {
  // alice published (oldest record), bob pulled it, dave and erin rehosted it during a shortage.
  const verified = (names: string[]) => names.map((a) => provider(a, { verified: true }));
  const [alice, bob, , dave, erin] = agents as [string, string, string, string, string];
  function giveBack(self: string, providers: ProviderView[], o: Partial<GiveBackInput> & { minProviders?: number } = {}) {
    const r = row({ providers, minProviders: o.minProviders ?? 2 });
    return planGiveBack({ held: [{ name: "qwen", cid: "bafyqwen", row: r, providers }], self, wanted: () => false, surplusChecks: new Map(), ...o });
  }

  it("orders verified providers oldest record first, the same on every node, whatever order they are listed in", () => {
    const providers = verified([erin, alice, dave, bob]);
    expect(providerOrder("bafyqwen", providers)).toEqual([alice, bob, dave, erin]);
    expect(providerOrder("bafyqwen", [...providers].reverse())).toEqual([alice, bob, dave, erin]);
    // Unverified or offline providers are not in the order; equal stamps fall back to the rank key.
    expect(providerOrder("bafyqwen", [...verified([alice]), provider(bob, { verified: false }), provider(dave, { verified: true, online: false })])).toEqual([alice]);
    const tied = [provider(dave, { verified: true, sinceMs: 5 }), provider(erin, { verified: true, sinceMs: 5 })];
    expect(providerOrder("bafyqwen", tied)).toEqual(order("bafyqwen", [dave, erin]));
    // bob gave his copy back and pulled it again (a second, newer record): his copy now counts from
    // the second record, behind dave's and erin's, which stayed.
    const retaken = [...providers, provider(bob, { verified: true, sinceMs: 10_000 })];
    expect(providerOrder("bafyqwen", retaken)).toEqual([alice, dave, erin, bob]);
    expect(providerOrder("bafyqwen", [...retaken].reverse())).toEqual([alice, dave, erin, bob]);
  });

  it("gives back the copies behind the first min_providers only after three checks in a row found them surplus", () => {
    const providers = verified([alice, bob, dave, erin]);
    for (const self of [dave, erin]) {
      let surplusChecks = new Map<string, number>();
      const actions: string[] = [];
      for (let i = 0; i < GIVE_BACK_AFTER_CHECKS; i++) {
        const d = giveBack(self, providers, { surplusChecks });
        actions.push(d[0]!.action);
        surplusChecks = nextSurplusChecks(d);
      }
      expect(actions).toEqual(["surplus", "surplus", "give-back"]);
    }
    // The first two in the order keep theirs (had they rehosted it too).
    expect(giveBack(bob, providers)[0]).toMatchObject({ action: "keep", reason: expect.stringContaining("provider 2 in the mesh's order") });
    // One check that finds the copy needed again (bob gone) starts the count again.
    const blip = giveBack(dave, verified([alice, dave, erin]), { surplusChecks: new Map([["bafyqwen", 2]]) });
    expect(blip[0]).toMatchObject({ action: "keep" });
    expect(nextSurplusChecks(blip).size).toBe(0);
  });

  it("never leaves fewer than min_providers verified copies, whichever nodes took the model on", () => {
    const everyone = [alice, bob, dave, erin];
    for (let mask = 1; mask < 16; mask++) {
      const providers = verified(everyone.filter((_, i) => mask & (1 << i)));
      for (const minProviders of [1, 2, 3]) {
        const stays = providers.filter((p) => giveBack(p.agent, providers, { minProviders, surplusChecks: new Map([["bafyqwen", 9]]) })[0]!.action !== "give-back");
        expect(stays.length).toBe(Math.min(providers.length, minProviders));
      }
    }
  });

  it("keeps a copy the claims leave no room for (checking no provider), its own unverified copy, a wanted model, and one no longer registered", () => {
    // Two claims for two wanted: nothing to check.
    expect(giveBack(dave, [provider(alice), provider(dave)])[0]).toMatchObject({ action: "keep", reason: expect.stringContaining("2 online provider(s) with this node, 2 wanted") });
    // A liar's record is a claim, not a copy: dave is provider 2 of the verified ones.
    const withLiar = [...verified([alice, dave]), provider(bob, { verified: false, reason: "did not serve the block" })];
    expect(giveBack(dave, withLiar)[0]).toMatchObject({ action: "keep", reason: expect.stringContaining("2 verified provider(s) with this node") });
    expect(giveBack(dave, [...verified([alice, bob, erin]), provider(dave, { verified: false })])[0]).toMatchObject({ action: "keep", reason: expect.stringContaining("not verified") });
    expect(giveBack(dave, verified([alice, bob, dave]), { wanted: () => true })[0]).toMatchObject({ action: "keep", reason: expect.stringContaining("wants it here") });
    const gone = planGiveBack({ held: [{ name: "qwen", cid: "bafyqwen", row: undefined, providers: [] }], self: dave, wanted: () => false, surplusChecks: new Map() });
    expect(gone[0]).toMatchObject({ action: "keep", reason: expect.stringContaining("no registration") });
  });
});

describe("storage policy: replication.rehost", () => {
  it("is off by default and reads from older policies without it", () => {
    expect(loadStoragePolicy().replication.rehost).toEqual({ enabled: false, max_gb: 20, check_interval_ms: 60_000 });
    const older = join(dir, "older.yaml");
    writeFileSync(older, readFileSync(defaultStoragePolicyFile, "utf8").replace(/  rehost:\n(    .*\n)+/, ""));
    expect(readFileSync(older, "utf8")).not.toContain("rehost:");
    expect(loadStoragePolicy(older).replication.rehost.enabled).toBe(false);
  });

  it("names a bad value", () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, readFileSync(defaultStoragePolicyFile, "utf8").replace("check_interval_ms: 60000", "check_interval_ms: 10"));
    expect(() => loadStoragePolicy(bad)).toThrow(StoragePolicyError);
    expect(() => loadStoragePolicy(bad)).toThrow(/replication\.rehost\.check_interval_ms/);
  });
});

describe("ModelRehosting", () => {
  const log = createLogger("rehost-test", "silent");
  const peers = agents.map((agent) => ({ agent, online: true }) as PeerInfo);

  function rehosting(o: { rows: ShardRow[]; self: string; verified?: ProviderView[]; ledger?: string; held?: Map<string, string>; wanted?: string[]; enabled?: boolean }) {
    const held = o.held ?? new Map<string, string>();
    const pull = vi.fn(async (name: string, choice: { sha256?: string } = {}) => {
      held.set(name, choice.sha256!);
      return {} as never;
    });
    const verifiedProviders = vi.fn(async () => o.verified ?? []);
    const giveBack = vi.fn(async (m: { name: string }) => void held.delete(m.name));
    const opts: ModelRehostingOptions = {
      shards: { shards: async () => o.rows, pull: pull as never, pinnedSha256: () => SHA },
      verifiedProviders,
      store: { has: (n: string) => held.has(n), get: (n: string) => ({ sha256: held.get(n)! }) as never },
      policy: { enabled: o.enabled ?? true, max_gb: 1, check_interval_ms: 60_000 },
      self: o.self,
      peers: () => peers,
      ledgerFile: o.ledger ?? join(dir, `ledger-${Math.random().toString(36).slice(2)}.json`),
      wanted: (name) => o.wanted?.includes(name) ?? false,
      giveBack,
      log,
    };
    return { r: new ModelRehosting(opts), pull, verifiedProviders, giveBack, held, opts };
  }

  it("pulls the model whose turn it is by its pinned sha256, records it, and counts it against the budget", async () => {
    const first = order("bafyqwen", agents.slice(1))[0]!;
    const ledger = join(dir, "ledger-budget.json");
    const { r, pull } = rehosting({ rows: [row({ size: 600e6 })], self: first, ledger });
    expect((await r.check()).rehost.map((d) => d.action)).toEqual(["pull"]);
    expect(pull).toHaveBeenCalledWith("qwen", { sha256: SHA });
    expect(r.describe()).toMatchObject({ enabled: true, budgetBytes: 1e9, usedBytes: 600e6, models: [{ name: "qwen", cid: "bafyqwen", size: 600e6 }] });
    // After a restart the record still counts: a second 600 MB model no longer fits 1 GB.
    const held = new Map([["qwen", SHA]]);
    const second = row({ name: "gemma", cid: "bafyqwen", size: 600e6 });
    const again = rehosting({ rows: [second], self: first, ledger, held });
    expect((await again.r.check()).rehost[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("budget") });
    // A rehosted model removed by hand frees its share.
    held.delete("qwen");
    expect(again.r.describe().usedBytes).toBe(0);
    expect((await again.r.check()).rehost[0]!.action).toBe("pull");
  });

  it("counts only verified providers where the claims alone reach the target", async () => {
    const first = order("bafyqwen", agents.slice(2))[0]!;
    const claimed = [provider(agents[0]!), provider(agents[1]!)];
    const honestOnly = [provider(agents[0]!, { verified: true }), provider(agents[1]!, { verified: false, reason: "did not serve the block" })];
    const { r, pull, verifiedProviders } = rehosting({ rows: [row({ providers: claimed })], self: first, verified: honestOnly });
    const [d] = (await r.check()).rehost;
    expect(verifiedProviders).toHaveBeenCalledWith("bafyqwen");
    expect(d).toMatchObject({ action: "pull" });
    expect(pull).toHaveBeenCalledTimes(1);
    // Both verified: nothing to do.
    const fine = rehosting({ rows: [row({ providers: claimed })], self: first, verified: claimed.map((p) => ({ ...p, verified: true })) });
    expect(await fine.r.check()).toEqual({ rehost: [], giveBack: [] });
    expect(fine.pull).not.toHaveBeenCalled();
  });

  it("keeps the waiting ones in its view, and a pull that fails is tried again at the next check", async () => {
    const ranked = order("bafyqwen", agents.slice(1));
    const waiter = rehosting({ rows: [row()], self: ranked[2]! });
    await waiter.r.check();
    expect(waiter.r.describe().waiting).toEqual([{ name: "qwen", cid: "bafyqwen", rank: 2, turn: 1 }]);
    const failing = rehosting({ rows: [row()], self: ranked[0]! });
    failing.pull.mockRejectedValueOnce(new Error("no provider answered"));
    await failing.r.check();
    expect(failing.r.describe().models).toEqual([]);
    await failing.r.check();
    expect(failing.pull).toHaveBeenCalledTimes(2);
    expect(failing.r.describe().models.map((m) => m.name)).toEqual(["qwen"]);
  });

  it("gives its copy back once the mesh has had enough without it for three checks, freeing its budget; a failed give-back is tried again", async () => {
    // dave rehosted qwen while alice was away; alice and bob are back, older providers than dave.
    const dave = agents[3]!;
    const ledger = join(dir, "ledger-give-back.json");
    const all = [provider(agents[0]!), provider(agents[1]!), provider(dave, { self: true })];
    const back = all.map((p) => ({ ...p, verified: true }));
    const held = new Map([["qwen", SHA]]);
    writeFileSync(ledger, JSON.stringify({ schema: 1, models: [{ name: "qwen", sha256: SHA, cid: "bafyqwen", size: 600e6, atMs: 1 }] }));
    const { r, giveBack, verifiedProviders } = rehosting({ rows: [row({ providers: all, local: true, size: 600e6 })], self: dave, ledger, held, verified: back });
    expect(r.describe().usedBytes).toBe(600e6);
    const actions: string[] = [];
    giveBack.mockRejectedValueOnce(new Error("kubo did not answer"));
    for (let i = 0; i < 4; i++) {
      actions.push((await r.check()).giveBack[0]!.action);
      if (i === 1) expect(r.describe().surplus).toEqual([{ name: "qwen", cid: "bafyqwen", checks: 2, of: GIVE_BACK_AFTER_CHECKS }]);
    }
    // The third check gives it back and fails; the fourth (still surplus, the count kept) gives it back.
    expect(actions).toEqual(["surplus", "surplus", "give-back", "give-back"]);
    expect(verifiedProviders).toHaveBeenCalledWith("bafyqwen");
    expect(giveBack).toHaveBeenCalledTimes(2);
    expect(giveBack).toHaveBeenLastCalledWith(expect.objectContaining({ name: "qwen", cid: "bafyqwen", size: 600e6 }));
    expect(r.describe()).toMatchObject({ usedBytes: 0, models: [], surplus: [] });
    expect(JSON.parse(readFileSync(ledger, "utf8")).models).toEqual([]);
    // Wanted by this node's storage policy: kept however many copies the mesh has.
    writeFileSync(ledger, JSON.stringify({ schema: 1, models: [{ name: "qwen", sha256: SHA, cid: "bafyqwen", size: 600e6, atMs: 1 }] }));
    const kept = rehosting({ rows: [row({ providers: all, local: true })], self: dave, ledger, held: new Map([["qwen", SHA]]), verified: back, wanted: ["qwen"] });
    for (let i = 0; i < 4; i++) await kept.r.check();
    expect(kept.giveBack).not.toHaveBeenCalled();
    expect(kept.r.describe().models.map((m) => m.name)).toEqual(["qwen"]);
  });

  it("with rehosting turned off takes nothing new on but still gives back what it took on before, once surplus", async () => {
    const dave = agents[3]!;
    const short = row({ name: "gemma", cid: "bafygemma", size: 100e6 }); // one provider of two: dave would be a helper
    const all = [provider(agents[0]!), provider(agents[1]!), provider(dave, { self: true })];
    const ledger = join(dir, "ledger-off.json");
    writeFileSync(ledger, JSON.stringify({ schema: 1, models: [{ name: "qwen", sha256: SHA, cid: "bafyqwen", size: 600e6, atMs: 1 }] }));
    const off = rehosting({ rows: [short, row({ providers: all, local: true })], self: dave, ledger, held: new Map([["qwen", SHA]]), verified: all.map((p) => ({ ...p, verified: true })), enabled: false });
    const checks = [];
    for (let i = 0; i < GIVE_BACK_AFTER_CHECKS; i++) checks.push(await off.r.check());
    expect(checks.map((c) => c.rehost)).toEqual([[], [], []]);
    expect(off.pull).not.toHaveBeenCalled();
    expect(checks.map((c) => c.giveBack[0]!.action)).toEqual(["surplus", "surplus", "give-back"]);
    expect(off.r.describe()).toMatchObject({ enabled: false, models: [] });
  });
});

describe("giveBackModel", () => {
  it("unregisters the model, unpins and collects its blocks, deletes the file its pull wrote (never one registered from elsewhere), and re-advertises", async () => {
    const models = join(dir, "gb-models");
    mkdirSync(models, { recursive: true });
    const tiny = join(realModelsDir(), "ripple-tiny-test.gguf");
    copyFileSync(tiny, join(models, "pulled.gguf")); // what a pull of "pulled" writes
    copyFileSync(tiny, join(models, "by-hand.gguf"));
    const log = createLogger("give-back-test", "silent");
    const store = await ModelStore.open({ dataDir: join(dir, "gb-data"), modelsDir: models, log });
    await store.add(join(models, "pulled.gguf"), { name: "pulled" });
    await store.add(join(models, "by-hand.gguf"), { name: "renamed" });
    writeFileSync(join(models, "pulled.gguf.verified.json"), "{}");
    const calls: string[] = [];
    const deps = {
      store,
      ipfs: { unpin: async (cid: string) => void calls.push(`unpin ${cid}`), gc: async () => (calls.push("gc"), 7) },
      unregister: async (name: string) => (calls.push(`unregister ${name}`), store.remove(name)),
      onModelsChanged: async () => void calls.push("advertise"),
      log,
    };
    expect(await giveBackModel(deps, "pulled", "bafypulled")).toEqual({ unpinned: true, fileDeleted: true, blocksRemoved: 7 });
    expect(calls).toEqual(["unregister pulled", "unpin bafypulled", "gc", "advertise"]);
    expect(store.has("pulled")).toBe(false);
    expect(existsSync(join(models, "pulled.gguf"))).toBe(false);
    expect(existsSync(join(models, "pulled.gguf.verified.json"))).toBe(false);
    // A file under another name than the model's was not written by a pull: it stays. Once the model
    // is unregistered, a kubo that fails the unpin does not undo the give-back (logged instead).
    deps.ipfs.unpin = async () => {
      throw new Error("kubo is down");
    };
    expect(await giveBackModel(deps, "renamed", "bafyrenamed")).toEqual({ unpinned: false, fileDeleted: false, blocksRemoved: 0 });
    expect(store.has("renamed")).toBe(false);
    expect(existsSync(join(models, "by-hand.gguf"))).toBe(true);
    // The unregistering is what can fail it: nothing else is touched then.
    await expect(giveBackModel(deps, "renamed", "bafyrenamed")).rejects.toThrow(/not registered/);
  });
});

describe("ArtifactService.announce: provider records (over an in-memory artifact_index)", () => {
  const hash = (prefix: number[], n: number) => Uint8Array.from([...prefix, ...new Array(36).fill(n)]);
  const me = hash([0x84, 0x20, 0x24], 1);
  /** get_providers answers what add_provider wrote, each record stamped a second after the last. */
  function fakeIndex() {
    const records: Array<{ action_hash: Uint8Array; author: Uint8Array; timestamp: number; entry: { cid: string; agent: Uint8Array } }> = [];
    const zomes = {
      callZome: async ({ fn, payload }: { fn: string; payload?: unknown }) => {
        if (fn === "get_providers") return records.filter((r) => r.entry.cid === payload);
        if (fn === "add_provider") {
          const action_hash = hash([0x84, 0x29, 0x24], records.length + 1);
          records.push({ action_hash, author: me, timestamp: (records.length + 1) * 1_000_000, entry: { cid: payload as string, agent: me } });
          return action_hash;
        }
        throw new Error(`unexpected zome call ${fn}`);
      },
    };
    const service = new ArtifactService({ zomes, agentPubKey: me, peers: () => [], log: pino({ level: "silent" }), networkDir: mkdtempSync("/tmp/rm-announce-") } as unknown as ArtifactServiceOptions);
    return { service, records };
  }

  it("writes one record per pin, and a new one on renew (a copy pulled again after it was given back)", async () => {
    const { service, records } = fakeIndex();
    await service.announce("bafyqwen");
    await service.announce("bafyqwen"); // already announced: nothing new
    expect(records).toHaveLength(1);
    await service.announce("bafyqwen", { renew: true });
    expect(records.map((r) => r.timestamp)).toEqual([1_000_000, 2_000_000]);
    // The give-back order reads the newest: this copy counts from the second record.
    const views = await service.providers("bafyqwen", { verify: false });
    expect(providerOrder("bafyqwen", views.map((v) => ({ ...v, verified: true })))).toEqual([service.agent]);
    expect(Math.max(...views.map((v) => v.sinceMs))).toBe(2000);
  });
});
