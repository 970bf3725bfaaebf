// A node's own state (GET /v1/status, `ripple status`, the UI's Node page).
import type { InferenceStatus } from "./inference.ts";

/** offline: running but in no mesh, after a mesh switch failed and going back failed too (`offline` says why). */
export type DaemonPhase = "starting" | "running" | "switching" | "offline" | "stopping" | "stopped";

/**
 * connected: the conductor knows other agents and their capabilities arrived; syncing: not all yet;
 * isolated: in a mesh, knowing nobody; joining: starting or switching, not in a mesh yet; not-joined:
 * in no mesh (offline after a failed switch, stopping, stopped).
 */
export type MeshState = "connected" | "syncing" | "isolated" | "joining" | "not-joined";

/** One process of the node: its pid and resident memory (VmRSS; null when it cannot be read, e.g. not Linux). */
export interface ProcessMemory {
  pid: number;
  rssBytes: number | null;
}

/** Resident memory per part; a part this node does not run (another node hosts the relay, an external kubo) is null. */
export interface NodeMemory {
  daemon: ProcessMemory;
  conductor: ProcessMemory | null;
  kubo: ProcessMemory | null;
  /** The local mesh's bootstrap/relay server, when this node hosts it. */
  relay: ProcessMemory | null;
  /** Models loaded now, in the daemon's process (their RAM is part of the daemon's RSS): estimated file + context bytes. */
  models: Array<{ name: string; bytes: number }>;
  /** The daemon handing its freed native memory back to the OS (glibc's malloc_trim); null before it runs. */
  nativeHeapTrim: NativeHeapTrimState | null;
}

/** The daemon's calls of glibc's malloc_trim: where glibc keeps freed memory, they give it back to the OS. */
export interface NativeHeapTrimState {
  /** False where malloc_trim cannot be called (not glibc, no FFI binary); `reason` says why. */
  available: boolean;
  reason?: string;
  trims: number;
  /** RSS the last trim gave back (bytes; 0 when it freed nothing): approximate, the whole process's RSS before and after. */
  lastFreedBytes: number;
}

export interface DaemonStatus {
  name: string;
  phase: DaemonPhase;
  /** Only in the offline phase: why the node is in no mesh, and how to put it back in one. */
  offline?: { message: string; fix: string };
  pid: number;
  dataDir: string;
  api: string | null;
  uptimeMs: number;
  hardwareClass: string | null;
  tokensPerSecond: number | null;
  network: string;
  agentPubKey: string | null;
  peerId: string | null;
  multiaddrs: string[];
  relayUrl: string | null;
  localHost: { url: string; hostPeerId: string; self: boolean } | null;
  conductor: { pid: number | null; restarts: number } | null;
  livenessWindowMs: number | null;
  mesh: { state: MeshState; knownAgents: number; visibleNodes: number; onlineNodes: number };
  /** The llama.cpp backend that serves (and why), with the budgets resolved from the compute policy. */
  inference: InferenceStatus | null;
  /** Resident memory per part of this node, read when the status is asked for. */
  memory: NodeMemory;
  /**
   * The NATS event bus (`ripple up --nats`): the server this node is connected to (no credentials),
   * null while it is disconnected; absent when the node runs without NATS.
   */
  nats?: string | null;
}
