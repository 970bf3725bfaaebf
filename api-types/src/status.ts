// A node's own state (GET /v1/status, `ripple status`, the UI's Node page).
import type { InferenceStatus } from "./inference.ts";

export type DaemonPhase = "starting" | "running" | "switching" | "stopping" | "stopped";

/** connected: the conductor knows other agents and their capabilities arrived; syncing: not all yet; isolated: nobody. */
export type MeshState = "connected" | "syncing" | "isolated";

export interface DaemonStatus {
  name: string;
  phase: DaemonPhase;
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
  /**
   * The NATS event bus (`ripple up --nats`): the server this node is connected to (no credentials),
   * null while it is disconnected; absent when the node runs without NATS.
   */
  nats?: string | null;
}
