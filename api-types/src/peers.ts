// A node's view of one peer of its mesh (GET /v1/peers, `ripple peers`, the UI's Peers page).
import type { ServingBackend } from "./inference.ts";

export interface PeerInfo {
  agent: string;
  name: string;
  self: boolean;
  online: boolean;
  /** Why it counts as online/offline, for people reading `ripple peers`. */
  reason: string;
  peerId: string;
  multiaddrs: string[];
  hardwareClass: string;
  cpuCores: number;
  cpuArch: string;
  ramGb: number;
  gpu: { vendor: string; model: string; vram_gb: number } | null;
  models: string[];
  /** The models as advertised, with the sha256 that identifies each file (null when only a CID is given). */
  modelRefs: Array<{ name: string; sha256: string | null }>;
  /** Advertised decode tokens/s: a claim (see `trust`). */
  tokensPerSecond: number;
  /** The llama.cpp backend it serves on, as it advertises (a claim). */
  backend: ServingBackend;
  load: { cpu_percent: number; gpu_percent: number; memory_percent: number };
  activeJobs: number;
  /** Jobs it runs at once, as its capability advertises. */
  maxConcurrentJobs?: number;
  /** Unix ms, or null when never heard of that way. */
  lastHeartbeatMs: number | null;
  lastP2pMs: number | null;
  lastHeardMs: number | null;
  /**
   * How far (ms) ahead of this node's clock the peer's newest heartbeat or capability is stamped,
   * when beyond the network's max_clock_skew_ms: such records are ignored for liveness. Absent otherwise.
   */
  clockAheadMs?: number;
  /**
   * The IP address this node's libp2p connection to the peer comes from (measured here, not
   * claimed); absent while not connected directly. Placement counts peers at one address as one machine.
   */
  remoteIp?: string;
  /** What this node makes of the peer's claims (filled in by the requester side; absent in raw views). */
  trust?: PeerTrust;
}

/** A peer's claims next to what this node measured of it. */
export interface PeerTrust {
  /** What the peer advertises. */
  advertisedTokensPerSecond: number;
  /**
   * The tokens/s ceiling of the hardware class it declares, or of the class its declared CPU, RAM and
   * GPU qualify for when that one's is lower.
   */
  classCeiling: number;
  /** The class its declared CPU, RAM, GPU and speed qualify for (its declared class is a claim too). */
  classByHardware: string;
  /** What placement uses before any observation: advertised, capped at the class ceiling. */
  boundedTokensPerSecond: number;
  /** What this node measured on its own jobs (counts decayed), or null when never observed. */
  observed: ObservedFigures | null;
  /** Names of other agents bound to the same libp2p peer id: the same machine. */
  sharesPeerIdWith: string[];
  /** Names of other peers (other peer ids) connecting from the same address: counted as one machine for slot caps. */
  sharesAddressWith: string[];
}

export interface ObservedFigures {
  jobs: number;
  failures: number;
  stalls: number;
  badAnswers: number;
  /** 0..1: 1 = never misbehaved. */
  reliability: number;
  models: Array<{ model: string; tokensPerSecond: number; ttftMs: number; samples: number }>;
}
