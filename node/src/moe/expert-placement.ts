// Which live peer runs an expert. The mesh's point is spreading: five experts on one laptop run one
// after another, and five experts on one peer are one voice. So, per job:
// - a physical peer is its libp2p peer id: agents bound to one peer id are one peer (only one of
//   them is ever placed in a job, and their slots count together);
// - a machine is the IP address its libp2p connection comes from, as this node measures it (not a
//   claim; an IPv6 address by its /64, which one host holds whole): peers with distinct keys at one
//   address (several daemons on one host, or hosts behind one NAT) count their slots together; loopback tells nothing (every peer on this machine has it),
//   and a peer not connected now is its own machine;
// - no machine holds more than ⌊(k−1)/2⌋ of the job's k slots while another peer that can serve
//   the expert is under that cap (when none is, the job runs anyway and its answer says its
//   diversity is insufficient);
// - a peer this node recently saw stall or lie is placed only when every other candidate is at
//   the cap (it may have mended its ways, and the job must still run);
// - a peer this node holds an active allocation of (resources.allocate), for the expert's model or
//   any, is placed before the others, within the same cap and after the same suspicion;
// - among the rest, the least busy per unit of speed wins, where speed is what this node observed
//   (peer-observations.ts), or the advertised figure capped by the peer's declared hardware class,
//   times the peer's observed reliability.
// Deterministic for the same view and observations.
import type { PeerInfo } from "../mesh/peer-view.ts";
import { addressOwner, isLoopbackIp } from "../p2p/peer-addresses.ts";

/** Heartbeat load is a claim too: it only ever lowers a peer's own chances, but bound it anyway. */
const MAX_REPORTED_ACTIVE_JOBS = 64;

/** The identity that counts as one machine: the libp2p peer id (bound by signature), else the agent. */
export function physicalPeer(p: Pick<PeerInfo, "peerId" | "agent">): string {
  return p.peerId || p.agent;
}

/** What the slot cap counts against: the address a peer connects from (measured here), else its peer id. */
export function machineOf(p: Pick<PeerInfo, "peerId" | "agent" | "remoteIp">): string {
  const owner = p.remoteIp !== undefined && !isLoopbackIp(p.remoteIp) ? addressOwner(p.remoteIp) : undefined;
  return owner !== undefined ? `ip:${owner}` : physicalPeer(p);
}

/** The most slots of a k-slot job one machine may hold so that it can never be the majority alone. */
export function slotCap(k: number): number {
  return Math.floor((k - 1) / 2);
}

export interface ExpertModel {
  /** The policy's label for the model. */
  model: string;
  /** The pinned sha256, when the policy pins one: peers must advertise exactly this file. */
  sha256?: string | undefined;
  /** Test-only experts run anywhere (they load no model). */
  anyPeer: boolean;
}

/** Whether `p` advertises the model: by sha256 when pinned, else by name. */
export function servesModel(p: PeerInfo, m: ExpertModel): boolean {
  if (m.anyPeer) return true;
  if (m.sha256) return (p.modelRefs ?? []).some((r) => r.sha256 === m.sha256);
  return p.models.includes(m.model);
}

export function peersServing(m: ExpertModel, peers: PeerInfo[]): PeerInfo[] {
  return peers.filter((p) => p.online && servesModel(p, m));
}

/** Effective tokens/s of a peer for a model (observed, or advertised within its class), times reliability. */
export type PeerRate = (peer: PeerInfo, model: ExpertModel) => number;

/** What placement asks of the requester's judgement of peers (peer-rating.ts). */
export interface PeerJudge {
  rate: PeerRate;
  /** Recently stalled or sent an answer that failed its checks. */
  suspect?: (peer: PeerInfo) => boolean;
  /** This node holds an active allocation of the peer for this model (mesh/allocations.ts). */
  reserved?: (peer: PeerInfo, model: ExpertModel) => boolean;
}

/**
 * When every candidate is at the cap: this node if it can serve (its answers are not a peer's claim
 * and do not count against diversity), else the remote peers holding the fewest slots.
 */
function overCapPool(candidates: PeerInfo[], held: (p: PeerInfo) => number): PeerInfo[] {
  const self = candidates.filter((p) => p.self);
  if (self.length > 0) return self;
  const fewest = Math.min(...candidates.map(held));
  return candidates.filter((p) => held(p) === fewest);
}

/** The placement state of one job: which physical peer and machine hold how many slots, through which agent. */
export class JobPlacement {
  private readonly held = new Map<string, number>();
  private readonly heldOnMachine = new Map<string, number>();
  private readonly agentOf = new Map<string, string>();

  constructor(
    /** The job's slot count (k). */
    readonly slots: number,
    private readonly judge: PeerJudge,
  ) {}

  /** Slots held by the physical peer of `p` (one daemon: it runs them one after another). */
  heldBy(p: Pick<PeerInfo, "peerId" | "agent">): number {
    return this.held.get(physicalPeer(p)) ?? 0;
  }

  /** Slots held by every peer at `p`'s address: what the slot cap counts. */
  heldOn(p: Pick<PeerInfo, "peerId" | "agent" | "remoteIp">): number {
    return this.heldOnMachine.get(machineOf(p)) ?? 0;
  }

  /**
   * The best peer for one slot, recorded as holding it; undefined when no online peer serves the model.
   * `exclude`: physical peers that already failed this slot.
   */
  place(m: ExpertModel, peers: PeerInfo[], exclude: ReadonlySet<string> = new Set()): PeerInfo | undefined {
    const candidates = peers.filter((p) => p.online && servesModel(p, m) && !exclude.has(physicalPeer(p)) && this.agentAllowed(p));
    const cap = Math.max(1, slotCap(this.slots));
    const suspect = (p: PeerInfo) => this.judge.suspect?.(p) ?? false;
    const underCap = candidates.filter((p) => this.heldOn(p) < cap);
    const trusted = underCap.filter((p) => !suspect(p));
    const eligible = trusted.length > 0 ? trusted : underCap;
    const reserved = eligible.filter((p) => this.judge.reserved?.(p, m) ?? false);
    const pool = reserved.length > 0 ? reserved : eligible.length > 0 ? eligible : overCapPool(candidates, (p) => this.heldOn(p));
    const cost = (p: PeerInfo) => (1 + Math.min(Math.max(p.activeJobs, 0), MAX_REPORTED_ACTIVE_JOBS) + this.heldBy(p)) / Math.max(this.judge.rate(p, m), 1e-6);
    const best = pool.sort((a, b) => cost(a) - cost(b) || Number(b.self) - Number(a.self) || a.agent.localeCompare(b.agent))[0];
    if (best) this.take(best);
    return best;
  }

  /** The slot `p` held was given up (it failed, refused or stalled). */
  release(p: PeerInfo): void {
    for (const [map, key] of [[this.held, physicalPeer(p)], [this.heldOnMachine, machineOf(p)]] as const) map.set(key, Math.max(0, (map.get(key) ?? 1) - 1));
  }

  private take(p: PeerInfo): void {
    const key = physicalPeer(p);
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
    this.heldOnMachine.set(machineOf(p), this.heldOn(p) + 1);
    this.agentOf.set(key, p.agent);
  }

  /** One agent per physical peer per job: a second agent on the same libp2p key is the same machine. */
  private agentAllowed(p: PeerInfo): boolean {
    const chosen = this.agentOf.get(physicalPeer(p));
    return chosen === undefined || chosen === p.agent;
  }
}
