// The node's view of its mesh: every node that advertised a capability, with its latest heartbeat
// and when this node last heard from it (DHT heartbeat or libp2p ping, whichever is newer). A peer
// is online while it was heard from within the liveness window and its last word was not "offline".
// Records stamped beyond the allowed clock skew ahead of this node's clock (config/clock-skew.ts) do
// not count as heard from: a departed node cannot stay "online" on a future-dated heartbeat. Nor do
// that node's later heartbeats for a while (ClockAheadMemory): a record stamped two minutes ahead
// is only "within the skew" because time passed, not because it is fresh.
import { encodeHashToBase64 } from "@holochain/client";
import type { ObservedFigures, PeerInfo, PeerTrust } from "@ripple-mesh/api-types";
import type { CapabilityRecord, MeshView } from "@ripple-mesh/zome-bindings";
import { aheadBeyondSkewMs, DEFAULT_MAX_CLOCK_SKEW_MS, microsToMs, type ClockBound } from "../config/clock-skew.ts";
import type { BoundPeer } from "../p2p/bound-peers.ts";

export type { ObservedFigures, PeerInfo, PeerTrust };

export interface PeerViewInput {
  nodes: CapabilityRecord[];
  /** Each node's newest heartbeat (recent ones only). */
  heartbeats: MeshView["heartbeats"];
  /** libp2p peer id → Unix ms of the last successful ping/handshake with a verified binding. */
  p2pSeen: (peerId: string, agent: Uint8Array) => number | undefined;
  self: Uint8Array;
  nowMs: number;
  livenessWindowMs: number;
  /** Records stamped further ahead of nowMs are ignored (default DEFAULT_MAX_CLOCK_SKEW_MS). */
  maxClockSkewMs?: number;
  /** Which peers' clocks were seen ahead recently (kept by the caller across views). */
  clockMemory?: ClockAheadMemory;
}

/** How long a peer's heartbeats stay distrusted after one of its records was seen beyond the skew (the mesh view spans 10 minutes). */
export const CLOCK_AHEAD_MEMORY_MS = 10 * 60_000;

/** Peers remembered at most (agents are anyone's to make: each future-dated one would stay otherwise). */
export const CLOCK_AHEAD_MEMORY_MAX_PEERS = 4096;

/** Per peer: the furthest ahead of this node's clock one of its records was seen, and when. */
export class ClockAheadMemory {
  /** In the order they were last noted (a Map keeps insertion order), so the first is the stalest. */
  private readonly seen = new Map<string, { aheadMs: number; atMs: number }>();

  note(agent: string, aheadMs: number, nowMs: number): void {
    const kept = this.get(agent, nowMs);
    this.seen.delete(agent);
    this.seen.set(agent, { aheadMs: Math.max(aheadMs, kept ?? 0), atMs: nowMs });
    // Entries are otherwise dropped only when their agent is looked up again: an agent gone from the
    // view would stay for good. Expired ones go here, and the stalest beyond the cap.
    for (const [who, e] of this.seen) {
      if (this.seen.size <= CLOCK_AHEAD_MEMORY_MAX_PEERS && nowMs - e.atMs <= CLOCK_AHEAD_MEMORY_MS) break;
      this.seen.delete(who);
    }
  }

  /** Peers remembered now. */
  get size(): number {
    return this.seen.size;
  }

  /** How far ahead the peer's clock was seen within the memory, or undefined. */
  get(agent: string, nowMs: number): number | undefined {
    const e = this.seen.get(agent);
    if (!e) return undefined;
    if (nowMs - e.atMs > CLOCK_AHEAD_MEMORY_MS) {
      this.seen.delete(agent);
      return undefined;
    }
    return e.aheadMs;
  }
}

/** Agent keys (base64) of the peers bound over libp2p. */
/** The peers with the IP address each one's libp2p connection comes from now, as this node sees it (not a claim). */
export function withRemoteIps(peers: PeerInfo[], remoteHost: (peerId: string) => string | undefined): PeerInfo[] {
  return peers.map(({ remoteIp: _unmeasured, ...p }) => {
    const ip = p.self || !p.peerId ? undefined : remoteHost(p.peerId);
    return ip === undefined ? p : { ...p, remoteIp: ip };
  });
}

export function boundAgentKeys(bound: BoundPeer[]): string[] {
  return bound.map((p) => encodeHashToBase64(p.agentPubKey));
}

/**
 * Agents this node measured dead: bound over libp2p once, and no connection to any peer bound to
 * that agent now (a SIGKILLed node's connections close at once). Agents never bound are not judged.
 */
export function disconnectedBoundAgents(bound: BoundPeer[], connectedPeerIds: string[]): BoundPeer["agentPubKey"][] {
  const connected = new Set(connectedPeerIds);
  const live = new Set(bound.filter((p) => connected.has(p.peerId)).map((p) => encodeHashToBase64(p.agentPubKey)));
  const dead = new Map<string, Uint8Array>();
  for (const p of bound) {
    const key = encodeHashToBase64(p.agentPubKey);
    if (!live.has(key)) dead.set(key, p.agentPubKey);
  }
  return [...dead.values()];
}

/**
 * The first online peer not bound over libp2p: it reaches this node only through the DHT, so its
 * liveness rests on heartbeats read from there, and it cannot send this node libp2p notices.
 */
export function onlineUnboundPeer(view: PeerInfo[], boundAgents: string[]): PeerInfo | undefined {
  const bound = new Set(boundAgents);
  return view.find((p) => !p.self && p.online && !bound.has(p.agent));
}

export function buildPeerView(input: PeerViewInput): PeerInfo[] {
  const heartbeats = new Map(input.heartbeats.map((h) => [encodeHashToBase64(h.author), h]));
  const selfKey = encodeHashToBase64(input.self);
  const clock: ClockBound = { nowMs: input.nowMs, maxSkewMs: input.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS };
  return input.nodes
    .map((record) => {
      const agent = encodeHashToBase64(record.author);
      const cap = record.capability;
      const stamped = heartbeats.get(agent);
      const heartbeatAheadMs = stamped ? aheadBeyondSkewMs(microsToMs(stamped.timestamp), clock) : 0;
      const capabilityAheadMs = aheadBeyondSkewMs(microsToMs(record.timestamp), clock);
      const aheadNowMs = Math.max(heartbeatAheadMs, capabilityAheadMs);
      if (aheadNowMs > 0) input.clockMemory?.note(agent, aheadNowMs, input.nowMs);
      const clockAheadMs = Math.max(aheadNowMs, input.clockMemory?.get(agent, input.nowMs) ?? 0);
      // A future-dated heartbeat says nothing: not when it was written, nor its status or load; nor
      // do the heartbeats of a node whose clock was seen beyond the skew recently.
      const heartbeat = clockAheadMs > 0 ? undefined : stamped;
      const lastHeartbeatMs = heartbeat ? microsToMs(heartbeat.timestamp) : null;
      const lastP2pMs = input.p2pSeen(cap.peer.peer_id, record.author) ?? null;
      const lastHeardMs = maxOrNull(lastHeartbeatMs, lastP2pMs);
      const self = agent === selfKey;
      const { online, reason } = self ? { online: true, reason: "this node" } : liveness(input, heartbeat?.entry.status, lastHeartbeatMs, lastP2pMs, lastHeardMs);
      return {
        agent,
        name: cap.agent_name,
        self,
        online,
        reason,
        peerId: cap.peer.peer_id,
        multiaddrs: cap.peer.multiaddrs,
        hardwareClass: cap.hardware_class,
        cpuCores: cap.compute.cpu_cores,
        cpuArch: cap.compute.cpu_arch,
        ramGb: cap.compute.ram_gb,
        gpu: cap.compute.gpu,
        models: cap.inference.models_loaded.map((m) => m.name),
        modelRefs: cap.inference.models_loaded.map((m) => ({ name: m.name, sha256: m.sha256 ?? null })),
        tokensPerSecond: cap.inference.tokens_per_second,
        backend: cap.inference.backend,
        load: heartbeat?.entry.load ?? cap.load,
        activeJobs: heartbeat?.entry.active_jobs ?? 0,
        maxConcurrentJobs: cap.availability.max_concurrent_jobs,
        lastHeartbeatMs,
        lastP2pMs,
        lastHeardMs: self ? input.nowMs : lastHeardMs,
        ...(clockAheadMs > 0 && !self ? { clockAheadMs } : {}),
      } satisfies PeerInfo;
    })
    .sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name) || a.agent.localeCompare(b.agent));
}

function liveness(
  input: PeerViewInput,
  status: "online" | "offline" | undefined,
  lastHeartbeatMs: number | null,
  lastP2pMs: number | null,
  lastHeardMs: number | null,
): { online: boolean; reason: string } {
  if (lastHeardMs === null) return { online: false, reason: "never heard from" };
  // A clean shutdown writes an "offline" heartbeat; it wins unless a ping came after it.
  if (status === "offline" && lastHeartbeatMs !== null && (lastP2pMs === null || lastP2pMs <= lastHeartbeatMs)) {
    return { online: false, reason: "announced it went offline" };
  }
  const silentMs = input.nowMs - lastHeardMs;
  if (silentMs > input.livenessWindowMs) return { online: false, reason: `silent for ${Math.round(silentMs / 1000)} s (window ${input.livenessWindowMs / 1000} s)` };
  return { online: true, reason: lastP2pMs !== null && lastP2pMs === lastHeardMs ? "libp2p ping" : "DHT heartbeat" };
}

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/**
 * The merged view without the agents that left: one that the latest read did not return, whose
 * newest heartbeat and capability are both older than the read window (`sinceMicros`), is what a
 * node started now would not list either. Without this, every node that ever joined stayed in the
 * view (and was dialled) for as long as this node ran. `alwaysKeep` (agent keys): this node, and
 * peers connected and bound over libp2p now (alive by our own measure, whatever the DHT says).
 */
export function forgetDeparted(merged: MeshView, latest: MeshView, sinceMicros: number, alwaysKeep: Iterable<string> = []): MeshView {
  const keep = new Set<string>(alwaysKeep);
  for (const x of [...latest.nodes, ...latest.heartbeats]) keep.add(encodeHashToBase64(x.author));
  for (const x of [...merged.nodes, ...merged.heartbeats]) if (x.timestamp >= sinceMicros) keep.add(encodeHashToBase64(x.author));
  const kept = <T extends { author: Uint8Array }>(xs: T[]) => xs.filter((x) => keep.has(encodeHashToBase64(x.author)));
  return { nodes: kept(merged.nodes), heartbeats: kept(merged.heartbeats) };
}

/**
 * Two reads of the mesh (a fast local one, a slower network one) that finish in any order: keep,
 * per agent, the newest capability and the newest heartbeat either has seen. With a clock, a record
 * stamped beyond the skew never shadows one that is not: a future-dated heartbeat read once cannot
 * hide the honest ones read after it.
 */
export function mergeMeshViews(a: MeshView | undefined, b: MeshView, clock?: ClockBound): MeshView {
  if (!a) return b;
  const honest = (t: number) => (clock && aheadBeyondSkewMs(microsToMs(t), clock) > 0 ? 0 : 1);
  const newest = <T extends { author: Uint8Array; timestamp: number }>(xs: T[]): T[] => {
    const byAgent = new Map<string, T>();
    for (const x of xs) {
      const key = encodeHashToBase64(x.author);
      const kept = byAgent.get(key);
      if (!kept || honest(x.timestamp) > honest(kept.timestamp) || (honest(x.timestamp) === honest(kept.timestamp) && x.timestamp > kept.timestamp)) byAgent.set(key, x);
    }
    return [...byAgent.values()];
  };
  return { nodes: newest([...a.nodes, ...b.nodes]), heartbeats: newest([...a.heartbeats, ...b.heartbeats]) };
}
