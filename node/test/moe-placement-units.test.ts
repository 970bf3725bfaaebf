// Placement by what the requester believes of each peer: advertised speed bounded by the class it
// declares and by the class its declared hardware qualifies for, observed speed over advertised,
// one slot cap per machine, pinned files over names; and the observation store's decay and
// persistence.
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PeerInfo } from "../src/mesh/peer-view.ts";
import { JobPlacement, slotCap } from "../src/moe/expert-placement.ts";
import { OBSERVATION_HALF_LIFE_MS, PeerObservations } from "../src/moe/peer-observations.ts";
import { PeerRating } from "../src/moe/peer-rating.ts";
import { ReservedPeers } from "../src/mesh/reserved-peers.ts";
import { withRemoteIps } from "../src/mesh/peer-view.ts";
import type { AllocationView } from "@ripple-mesh/api-types";
import { classes, model, peer, qwen, qwenSha } from "./support/trust-fixtures.ts";

const tmp = mkdtempSync("/tmp/rm-placement-");

function placeAll(k: number, peers: PeerInfo[], rating: PeerRating): string[] {
  const placement = new JobPlacement(k, rating);
  return Array.from({ length: k }, () => placement.place(model, peers)?.name ?? "none");
}

describe("placement that no boastful peer captures", () => {
  const honest = [peer("alice", { self: true }), peer("bob"), peer("carol")];

  it("caps an advertised 1e6 tok/s at the declared class's ceiling", () => {
    const rating = new PeerRating(new PeerObservations(undefined), classes);
    const mallory = peer("mallory", { tokensPerSecond: 1e6 });
    expect(rating.bounded(mallory)).toBe(classes.find((c) => c.id === "cpu-laptop")!.tokens_per_second_ceiling);
    expect(rating.bounded(peer("unknown-class", { tokensPerSecond: 1e6, hardwareClass: "quantum-9000" }))).toBe(classes[0]!.tokens_per_second_ceiling);
    expect(rating.describe(mallory, [mallory]).advertisedTokensPerSecond).toBe(1e6);
  });

  it("bounds a peer by the class its declared hardware qualifies for when that is lower than the class it declares", () => {
    const rating = new PeerRating(new PeerObservations(undefined), classes);
    const ceiling = (id: string) => classes.find((c) => c.id === id)!.tokens_per_second_ceiling!;
    // Declares the datacenter GPU class and 1e6 tok/s on a laptop without a GPU: trusted as a laptop.
    const pretender = peer("pretender", { tokensPerSecond: 1e6, hardwareClass: "gpu-datacenter" });
    expect(rating.hardwareClassOf(pretender)).toBe("cpu-laptop");
    expect(rating.bounded(pretender)).toBe(ceiling("cpu-laptop"));
    expect(rating.describe(pretender, [pretender])).toMatchObject({ classCeiling: ceiling("cpu-laptop"), classByHardware: "cpu-laptop" });
    // The same claim backed by a declared 80 GB GPU and the cores and RAM of its class keeps that class's ceiling.
    const backed = peer("backed", { tokensPerSecond: 1e6, hardwareClass: "gpu-datacenter", cpuCores: 32, ramGb: 256, gpu: { vendor: "NVIDIA", model: "H100", vram_gb: 80 } });
    expect(rating.hardwareClassOf(backed)).toBe("gpu-datacenter");
    expect(rating.bounded(backed)).toBe(ceiling("gpu-datacenter"));
    // Hardware above the declared class does not raise it: the declared class's ceiling holds.
    const modest = peer("modest", { tokensPerSecond: 1e6, hardwareClass: "cpu-edge", cpuCores: 32, ramGb: 256, gpu: { vendor: "NVIDIA", model: "H100", vram_gb: 80 } });
    expect(rating.bounded(modest)).toBe(ceiling("cpu-edge"));
    // Placement: the pretender is rated as a laptop, so a backed GPU peer comes first.
    expect(placeAll(1, [pretender, backed], rating)).toEqual(["backed"]);
  });

  it("gives a 1e6 tok/s peer at most ⌊(k−1)/2⌋ of k slots (it took all 5 before)", () => {
    const rating = new PeerRating(new PeerObservations(undefined), classes);
    const mallory = peer("mallory", { tokensPerSecond: 1e6, hardwareClass: "gpu-datacenter" });
    for (const k of [3, 5, 7]) {
      const picked = placeAll(k, [...honest, mallory], rating);
      expect(picked.filter((n) => n === "mallory").length, `k=${k}: ${picked}`).toBeLessThanOrEqual(slotCap(k));
      expect(picked).not.toContain("none");
    }
  });

  it("counts agents bound to one libp2p peer id as one machine, and never places both", () => {
    const rating = new PeerRating(new PeerObservations(undefined), classes);
    const m1 = peer("mallory", { tokensPerSecond: 1e6 });
    const m2 = peer("mallory-2", { tokensPerSecond: 1e6, peerId: m1.peerId });
    const picked = placeAll(5, [...honest, m1, m2], rating);
    const malloryish = picked.filter((n) => n.startsWith("mallory"));
    expect(malloryish.length, String(picked)).toBeLessThanOrEqual(2);
    expect(new Set(malloryish).size).toBe(1);
    expect(rating.describe(m1, [...honest, m1, m2]).sharesPeerIdWith).toEqual(["mallory-2"]);
  });

  it("goes over the cap only when no other peer serves the model (the job still runs)", () => {
    const rating = new PeerRating(new PeerObservations(undefined), classes);
    expect(placeAll(5, [peer("alice", { self: true })], rating)).toEqual(Array(5).fill("alice"));
    // Over the cap, this node first (its answers are no peer's claim), then the remote peer holding fewest.
    const boastful = peer("mallory", { tokensPerSecond: 1e6 });
    expect(placeAll(5, [peer("alice", { self: true }), boastful], rating).filter((n) => n === "mallory")).toHaveLength(2);
    expect(placeAll(7, [peer("bob"), boastful], rating).sort()).toEqual(["bob", "bob", "bob", "mallory", "mallory", "mallory", "mallory"]);
  });

  it("uses observed speed over advertised, and ranks a staller below an honest slower peer", () => {
    const obs = new PeerObservations(undefined);
    const rating = new PeerRating(obs, classes);
    const boaster = peer("boaster", { tokensPerSecond: 55 });
    const modest = peer("modest", { tokensPerSecond: 10 });
    expect(placeAll(1, [boaster, modest], rating)).toEqual(["boaster"]);
    obs.recordSuccess(boaster.peerId, qwenSha, { ttftMs: 900, tokensPerSecond: 4 });
    expect(rating.rate(boaster, model)).toBeCloseTo(4, 5);
    expect(placeAll(1, [boaster, modest], rating)).toEqual(["modest"]);

    const staller = peer("staller");
    const slower = peer("slower");
    obs.recordSuccess(staller.peerId, qwenSha, { ttftMs: 200, tokensPerSecond: 30 });
    obs.recordSuccess(slower.peerId, qwenSha, { ttftMs: 400, tokensPerSecond: 12 });
    expect(placeAll(1, [staller, slower], rating)).toEqual(["staller"]);
    obs.recordMisbehaviour(staller.peerId, "stall");
    expect(rating.rate(staller, model)).toBeLessThan(rating.rate(slower, model));
    expect(rating.suspect(staller)).toBe(true);
    expect(placeAll(1, [staller, slower], rating)).toEqual(["slower"]);
    // Suspect: placed only once every other peer is at the cap, however fast it was.
    for (let i = 0; i < 20; i++) obs.recordSuccess(staller.peerId, qwenSha, { ttftMs: 100, tokensPerSecond: 60 });
    expect(placeAll(5, [staller, slower, peer("third")], rating).filter((n) => n === "staller")).toHaveLength(1);
    expect(placeAll(5, [staller, slower, peer("third"), peer("fourth")], rating)).not.toContain("staller");
  });

  it("matches experts to peers by the pinned sha256, not by the name", () => {
    const rating = new PeerRating(new PeerObservations(undefined), classes);
    const squatter = peer("squatter", { tokensPerSecond: 60, modelRefs: [{ name: qwen, sha256: "f".repeat(64) }] });
    const real = peer("real", { tokensPerSecond: 5 });
    expect(placeAll(1, [squatter, real], rating)).toEqual(["real"]);
    expect(placeAll(1, [squatter], rating)).toEqual(["none"]);
  });
});

describe("observations", () => {
  it("decay with their half-life and survive a restart through the data dir", () => {
    let now = 1_000_000;
    const file = join(tmp, "observed-peers.json");
    const obs = new PeerObservations(file, undefined, () => now);
    obs.recordMisbehaviour("p1", "stall");
    obs.recordSuccess("p1", "m", { ttftMs: 100, tokensPerSecond: 20 });
    obs.flush();
    const reloaded = new PeerObservations(file, undefined, () => now);
    expect(reloaded.get("p1")).toMatchObject({ stalls: 1, jobs: 1 });
    expect(reloaded.speedOf("p1", "m")).toBe(20);
    now += OBSERVATION_HALF_LIFE_MS;
    expect(reloaded.get("p1")!.stalls).toBeCloseTo(0.5, 5);
    const before = reloaded.get("p1")!.reliability;
    now += 4 * OBSERVATION_HALF_LIFE_MS;
    expect(reloaded.get("p1")!.reliability).toBeGreaterThan(before);
  });

  it("ignores a damaged file instead of refusing to start", () => {
    const file = join(tmp, "damaged.json");
    writeFileSync(file, "{not json");
    expect(new PeerObservations(file).get("p1")).toBeUndefined();
  });
});

describe("allocations steer placement (resources.allocate)", () => {
  const self = "uhCAk-alice";
  const allocation = (over: Partial<AllocationView>): AllocationView => ({
    allocation: "uhCkk-a1",
    state: "active",
    role: "requester",
    resourceType: "inference",
    requester: self,
    provider: { agent: "uhCAk-slow", name: "slow" },
    model: qwen,
    locality: null,
    durationS: 60,
    createdAtMs: 0,
    expiresAtMs: 60_000,
    ...over,
  });

  it("places a job's slots on the allocated peer first, within the slot cap, never before a trusted peer when it is suspect", () => {
    const obs = new PeerObservations(undefined);
    const rating = new PeerRating(obs, classes);
    const fast = peer("fast", { tokensPerSecond: 60 });
    const slow = peer("slow", { tokensPerSecond: 5 });
    const other = peer("other", { tokensPerSecond: 50 });
    const reservedSlow = { rate: rating.rate, suspect: rating.suspect, reserved: (p: PeerInfo) => p.name === "slow" };
    const place = (k: number, judge: ConstructorParameters<typeof JobPlacement>[1]) => {
      const placement = new JobPlacement(k, judge);
      return Array.from({ length: k }, () => placement.place(model, [fast, slow, other])?.name ?? "none");
    };
    expect(place(1, rating)).toEqual(["fast"]);
    expect(place(1, reservedSlow)).toEqual(["slow"]);
    // Five slots: the allocated peer holds its cap (2), the others the rest.
    const five = place(5, reservedSlow);
    expect(five.filter((n) => n === "slow")).toHaveLength(slotCap(5));
    expect(five.slice(0, 2)).toEqual(["slow", "slow"]);
    // A suspect allocated peer is not placed before a trusted one.
    obs.recordMisbehaviour(slow.peerId, "stall");
    expect(place(1, reservedSlow)).toEqual(["fast"]);
  });

  it("knows this node's own active reservations: by provider and model, until they expire or are released", () => {
    const reserved = new ReservedPeers(self);
    reserved.replace(
      [
        allocation({}),
        allocation({ allocation: "uhCkk-any", provider: { agent: "uhCAk-any", name: "any" }, model: null }),
        allocation({ allocation: "uhCkk-theirs", role: "provider", requester: "uhCAk-mallory", provider: { agent: "uhCAk-mine", name: "mine" } }),
        allocation({ allocation: "uhCkk-gone", state: "released", provider: { agent: "uhCAk-gone", name: "gone" } }),
      ],
      1000,
    );
    expect(reserved.readAt).toBe(1000);
    expect(reserved.reserves("uhCAk-slow", qwen, 1000)).toBe(true);
    expect(reserved.reserves("uhCAk-slow", "gemma", 1000)).toBe(false);
    expect(reserved.reserves("uhCAk-any", "gemma", 1000)).toBe(true);
    // Another node's reservation of this one, and a released one, steer nothing.
    expect(reserved.reserves("uhCAk-mine", qwen, 1000)).toBe(false);
    expect(reserved.reserves("uhCAk-gone", qwen, 1000)).toBe(false);
    // Expired by the clock, before any re-read says so.
    expect(reserved.reserves("uhCAk-slow", qwen, 60_000)).toBe(false);
    reserved.remove("uhCkk-a1");
    expect(reserved.reserves("uhCAk-slow", qwen, 1000)).toBe(false);
    reserved.add(allocation({ allocation: "uhCkk-a2" }));
    expect(reserved.reserves("uhCAk-slow", qwen, 1000)).toBe(true);
    // A read that started before a release does not bring the released allocation back.
    const before = reserved.version;
    reserved.remove("uhCkk-a2");
    reserved.replace([allocation({ allocation: "uhCkk-a2" })], 2000, before);
    expect(reserved.reserves("uhCAk-slow", qwen, 2000)).toBe(false);
    expect(reserved.readAt).toBe(2000);
  });
});

describe("one address, one machine (measured, not claimed)", () => {
  it("caps the slots of several keys connecting from one address together; loopback and unconnected peers count alone", () => {
    const rating = new PeerRating(new PeerObservations(undefined), classes);
    const sybils = ["s1", "s2", "s3"].map((n) => peer(n, { tokensPerSecond: 60, remoteIp: "198.51.100.9" }));
    const honest = [peer("bob", { tokensPerSecond: 10, remoteIp: "203.0.113.2" }), peer("carol", { tokensPerSecond: 10 })];
    for (const k of [3, 5, 7]) {
      const picked = placeAll(k, [...sybils, ...honest], rating);
      // Before: each key was its own machine, so three fast sybils took every slot of a 5-slot job.
      expect(picked.filter((n) => n.startsWith("s")).length, `k=${k}: ${picked}`).toBeLessThanOrEqual(slotCap(k));
      expect(picked).not.toContain("none");
    }
    // On loopback (peers on this machine, as in a local test mesh) the address says nothing: keys count alone.
    const local = ["l1", "l2", "l3"].map((n) => peer(n, { tokensPerSecond: 60, remoteIp: "127.0.0.1" }));
    expect(placeAll(5, [...local, ...honest], rating).filter((n) => n.startsWith("l")).length).toBe(5);
    const d = rating.describe(sybils[0]!, [...sybils, ...honest]);
    expect(d.sharesAddressWith).toEqual(["s2", "s3"]);
    expect(rating.describe(honest[0]!, [...sybils, ...honest]).sharesAddressWith).toEqual([]);
  });

  it("takes each peer's address from its live connection, never from the peer's records", () => {
    const view = [peer("self", { self: true }), peer("bob"), peer("gone", { remoteIp: "10.9.9.8" }), peer("liar", { remoteIp: "10.9.9.9" })];
    const connected: Record<string, string> = { "12D3KooW-bob": "192.168.1.20", "12D3KooW-liar": "192.168.1.30" };
    const measured = withRemoteIps(view, (id) => connected[id]);
    expect(measured.map((p) => p.remoteIp)).toEqual([undefined, "192.168.1.20", undefined, "192.168.1.30"]);
  });
});
