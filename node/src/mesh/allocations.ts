// This node's resource allocations on the mesh: `Allocation` and `AllocationRelease` entries of the
// resource_mesh DNA (seed §11.4 `resources.allocate` / `release`; validation in
// dnas/resource_mesh/zomes/integrity/resource_mesh_integrity/src/allocation.rs). An allocation
// reserves a peer (optionally for one model) for a bounded time; it lapses by itself at its
// `expires_at_ms`, or when its requester or provider releases it. Also what online peers offer now.
// Writes go through the serial write queue the rest of the node's resource_mesh writes use.
import { decodeHashFromBase64, encodeHashToBase64 } from "@holochain/client";
import type { AllocateRequest, AllocationView, ReleaseRequest, ResourceOffer, ResourceType } from "@ripple-mesh/api-types";
import { resourceMesh, type ZomeCaller } from "@ripple-mesh/zome-bindings";
import { z } from "zod";
import { InferenceError } from "../inference/inference-errors.ts";
import type { Logger } from "../log.ts";
import type { PeerInfo } from "./peer-view.ts";
import { resolvePeerRef } from "./peer-ref.ts";
import { ReservedPeers } from "./reserved-peers.ts";
import type { ProviderReservation } from "../worker/reservation-gate.ts";

export { MAX_ALLOCATION_SECONDS } from "@ripple-mesh/api-types";

export interface AllocationsOptions {
  /** resource_mesh calls whose writes are queued (conductor/serial-writes.ts). */
  zomes: ZomeCaller;
  agentPubKey: Uint8Array;
  peers: () => PeerInfo[];
  log: Logger;
  now?: () => number;
}

/** Placement re-reads this node's allocations when its snapshot is older than this (in the background). */
const RESERVED_REFRESH_MS = 15_000;

/** What this node writes into an allocation's `requirements` (a JSON object, opaque to validation). */
const requirementsSchema = z.object({ model: z.string().max(128).nullish(), peer_name: z.string().max(64).nullish() }).loose();

export class Allocations {
  private readonly zome;
  private readonly self: string;
  private readonly now: () => number;
  /** This node's active reservations of peers, for placement (reserves). */
  private readonly reserved: ReservedPeers;
  private refreshing = false;
  private lastRefreshMs = Number.NEGATIVE_INFINITY;
  /** Active allocations of this node by others, from the last read. */
  private providerHeld: ProviderReservation[] = [];
  /** When this node first read each allocation of it (its own clock), so a hold is timed from here. */
  private readonly firstSeen = new Map<string, number>();

  constructor(private readonly opts: AllocationsOptions) {
    this.zome = resourceMesh(opts.zomes);
    this.self = encodeHashToBase64(opts.agentPubKey);
    this.now = opts.now ?? Date.now;
    this.reserved = new ReservedPeers(this.self);
  }

  /**
   * Whether this node holds an active allocation of `peer` (for `model`, or for any model): placement
   * sends its jobs there first. Answers from the last read; a read older than 15 s is redone in the
   * background (placement does not wait on the DHT).
   */
  reserves(peer: Pick<PeerInfo, "agent">, model: string): boolean {
    this.refreshIfStale();
    return this.reserved.reserves(peer.agent, model, this.now());
  }

  /**
   * Active allocations of this node by other peers (its worker holds slots for them,
   * worker/reservation-gate.ts), from the last read; re-read in the background like reserves().
   */
  reservationsOfThisNode(): ProviderReservation[] {
    this.refreshIfStale();
    const now = this.now();
    return this.providerHeld.filter((r) => now < r.expiresAtMs);
  }

  /** A read older than 15 s is redone in the background (placement and admission do not wait on the DHT). */
  private refreshIfStale(): void {
    const now = this.now();
    // From the last attempt: a read that fails is not retried at every call.
    if (now - Math.max(this.reserved.readAt, this.lastRefreshMs) <= RESERVED_REFRESH_MS || this.refreshing) return;
    this.refreshing = true;
    this.lastRefreshMs = now;
    void this.list()
      .catch((err: unknown) => this.opts.log.debug({ err: (err as Error).message }, "could not re-read this node's allocations; keeping the last read"))
      .finally(() => (this.refreshing = false));
  }

  /** Online peers (this node included) with what they offer; only those serving `model` when given. */
  async available(q: { model?: string } = {}): Promise<ResourceOffer[]> {
    const active = await this.list();
    return this.opts
      .peers()
      .filter((p) => p.online && (q.model === undefined || p.models.includes(q.model)))
      .map((p) => offerOf(p, active.filter((a) => a.role === "requester" && a.provider?.agent === p.agent).length));
  }

  /** This node's allocations, newest first: active ones only unless `all`. */
  async list(q: { all?: boolean } = {}): Promise<AllocationView[]> {
    const version = this.reserved.version;
    const statuses = await this.zome.getMyAllocations();
    const names = new Map(this.opts.peers().map((p) => [p.agent, p.name]));
    const seen = new Set<string>();
    const views: AllocationView[] = [];
    for (const s of statuses) {
      const hash = encodeHashToBase64(s.allocation.action_hash);
      if (seen.has(hash)) continue; // one link from the requester, one from the provider: the same entry twice when they are one node
      seen.add(hash);
      views.push(this.viewOf(hash, s.allocation, s.released, names));
    }
    views.sort((a, b) => b.createdAtMs - a.createdAtMs);
    this.reserved.replace(views, this.now(), version);
    this.providerHeld = this.heldForOthers(views);
    return q.all ? views : views.filter((v) => v.state === "active");
  }

  /** Reserves a peer (by name or agent key, or the least busy online peer serving `model`) for `duration_s`. */
  async allocate(req: AllocateRequest): Promise<AllocationView> {
    const peer = this.choosePeer(req);
    const now = this.now();
    const resourceType: ResourceType = req.resource_type ?? "inference";
    const hash = await this.zome.allocate({
      resource_type: resourceType,
      requirements: JSON.stringify({ model: req.model ?? null, peer_name: peer.name }),
      locality_preference: req.locality ?? null,
      duration_seconds: req.duration_s,
      expires_at_ms: now + req.duration_s * 1000,
      provider: decodeHashFromBase64(peer.agent),
    });
    const allocation = encodeHashToBase64(hash);
    this.opts.log.info({ allocation, provider: peer.name, model: req.model ?? null, durationS: req.duration_s }, "allocation written");
    const written = (await this.list({ all: true })).find((v) => v.allocation === allocation);
    if (written) return written;
    // Not readable back yet (it is: the entry is on this node's own chain), so describe what was written.
    const view: AllocationView = {
      allocation,
      state: "active",
      role: "requester",
      resourceType,
      requester: this.self,
      provider: { agent: peer.agent, name: peer.name },
      model: req.model ?? null,
      locality: req.locality ?? null,
      durationS: req.duration_s,
      createdAtMs: now,
      expiresAtMs: now + req.duration_s * 1000,
    };
    this.reserved.add(view);
    return view;
  }

  /** Writes an AllocationRelease for one of this node's active allocations. */
  async release(req: ReleaseRequest): Promise<AllocationView> {
    const current = await this.find(req.allocation);
    if (current.state === "released") {
      throw new InferenceError("bad_request", `allocation ${req.allocation} is already released`, "nothing to do; `ripple resources list --all` shows every allocation of this node");
    }
    await this.zome.release({ allocation: decodeHashFromBase64(req.allocation), reason: req.reason ?? "released by its requester" });
    this.reserved.remove(req.allocation);
    this.opts.log.info({ allocation: req.allocation, reason: req.reason ?? null }, "allocation released");
    return { ...current, state: "released" };
  }

  /** The allocation, which must be this node's and active (a job scheduled under it). */
  async requireActive(allocation: string): Promise<AllocationView> {
    const found = await this.find(allocation);
    if (found.state !== "active") {
      throw new InferenceError("bad_request", `allocation ${allocation} is ${found.state}`, "allocate again (`resources.allocate`, `ripple resources allocate`), or leave the allocation out");
    }
    return found;
  }

  private async find(allocation: string): Promise<AllocationView> {
    const found = (await this.list({ all: true })).find((v) => v.allocation === allocation);
    if (!found) {
      throw new InferenceError("bad_request", `no allocation ${allocation} among this node's allocations`, "use an allocation hash that `ripple resources list --all` (GET /v1/resources?all=1) shows");
    }
    return found;
  }

  /** The active provider-role allocations, each with when this node first read it (forgetting those no longer active). */
  private heldForOthers(views: AllocationView[]): ProviderReservation[] {
    const now = this.now();
    const active = views.filter((v) => v.role === "provider" && v.state === "active" && v.requester !== this.self);
    const ids = new Set(active.map((v) => v.allocation));
    for (const id of this.firstSeen.keys()) if (!ids.has(id)) this.firstSeen.delete(id);
    return active.map((v) => {
      if (!this.firstSeen.has(v.allocation)) this.firstSeen.set(v.allocation, now);
      return { allocation: v.allocation, requester: v.requester, model: v.model, seenAtMs: this.firstSeen.get(v.allocation)!, expiresAtMs: v.expiresAtMs };
    });
  }

  private choosePeer(req: AllocateRequest): PeerInfo {
    const peers = this.opts.peers();
    const online = peers.filter((p) => p.online);
    const onlineNames = online.map((p) => p.name).join(", ") || "none";
    if (req.peer !== undefined) {
      const peer = resolvePeerRef(peers, req.peer);
      if (!peer) throw new InferenceError("no_peer", `no peer "${req.peer}" in this mesh`, `name an online peer by node name or agent key (online: ${onlineNames}); \`ripple peers\` lists them`);
      if (!peer.online) throw new InferenceError("no_peer", `peer "${req.peer}" is offline (${peer.reason})`, `pick an online peer (online: ${onlineNames})`);
      if (req.model !== undefined && !peer.models.includes(req.model)) {
        const serving = online.filter((p) => p.models.includes(req.model!)).map((p) => p.name);
        throw new InferenceError("model_not_found", `peer "${peer.name}" does not serve model "${req.model}"`, serving.length ? `pick a peer that does: ${serving.join(", ")}` : `no online peer serves it; pick one of: ${[...new Set(online.flatMap((p) => p.models))].join(", ") || "(none)"}`);
      }
      return peer;
    }
    const serving = online.filter((p) => p.models.includes(req.model!));
    if (serving.length === 0) {
      throw new InferenceError("model_not_found", `no online peer serves model "${req.model}"`, `name a model some peer serves (${[...new Set(online.flatMap((p) => p.models))].join(", ") || "none yet"}), or name a peer`);
    }
    // The least busy: most free slots, then fewest active jobs, then the lowest CPU load.
    return serving.sort((a, b) => (freeSlots(b) ?? 0) - (freeSlots(a) ?? 0) || a.activeJobs - b.activeJobs || a.load.cpu_percent - b.load.cpu_percent)[0]!;
  }

  private viewOf(
    allocation: string,
    found: { author: Uint8Array; timestamp: number; entry: { resource_type: ResourceType; requirements: string; locality_preference: string | null; duration_seconds: number; expires_at_ms: number; provider: Uint8Array | null } },
    released: boolean,
    names: Map<string, string>,
  ): AllocationView {
    const e = found.entry;
    const requester = encodeHashToBase64(found.author);
    const provider = e.provider ? encodeHashToBase64(e.provider) : null;
    const requirements = parseRequirements(e.requirements);
    // The entry's own expiry decides, read now (the zome's `expired` was computed when it was called).
    const state = released ? "released" : this.now() >= e.expires_at_ms ? "expired" : "active";
    return {
      allocation,
      state,
      role: requester === this.self ? "requester" : "provider",
      resourceType: e.resource_type,
      requester,
      provider: provider ? { agent: provider, name: names.get(provider) ?? requirements.peer_name ?? null } : null,
      model: requirements.model ?? null,
      locality: e.locality_preference,
      durationS: e.duration_seconds,
      createdAtMs: Math.floor(Number(found.timestamp) / 1000),
      expiresAtMs: e.expires_at_ms,
    };
  }
}

function parseRequirements(text: string): z.infer<typeof requirementsSchema> {
  try {
    const parsed = requirementsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

function freeSlots(p: PeerInfo): number | null {
  return p.maxConcurrentJobs === undefined ? null : Math.max(0, p.maxConcurrentJobs - p.activeJobs);
}

function offerOf(p: PeerInfo, allocatedByMe: number): ResourceOffer {
  return {
    agent: p.agent,
    name: p.name,
    self: p.self,
    hardwareClass: p.hardwareClass,
    models: p.models,
    tokensPerSecond: p.tokensPerSecond,
    cpuCores: p.cpuCores,
    ramGb: p.ramGb,
    gpu: p.gpu,
    load: p.load,
    activeJobs: p.activeJobs,
    maxConcurrentJobs: p.maxConcurrentJobs ?? null,
    freeSlots: freeSlots(p),
    allocatedByMe,
  };
}
