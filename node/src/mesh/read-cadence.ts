// How often the mesh view is read from this node's own store. Each read is 14 get_links in
// agent_registry, about 20 ms of conductor CPU on a fresh node and more as heartbeat links pile up
// (Holochain 0.7's get_links scans the whole link table), so reading every second was most of an
// idle node's conductor CPU (issue #20). A read is only needed as often as something in the view
// can change without this node hearing of it otherwise:
// - a peer whose liveness rests on DHT heartbeats alone (no libp2p ping) needs every heartbeat read
//   promptly, or it flaps offline between reads (local: heartbeat 5 s, window 8 s);
// - a libp2p-bound peer whose capability is not in the view yet is a node joining: read until it is;
// - while the conductor's peer store knows agents the view lacks (syncing), likewise.
// Otherwise peers are heard over libp2p (their liveness is judged from that at every watch) and a
// quiet read every few seconds brings new heartbeat loads and capability updates.
import type { MeshState } from "@ripple-mesh/api-types";
import { onlineUnboundPeer, type PeerInfo } from "./peer-view.ts";

export const FAST_LOCAL_READ_MS = 1_000;
export const QUIET_LOCAL_READ_MS = 5_000;

export interface ReadCadenceInput {
  view: PeerInfo[];
  state: MeshState;
  /** Agent keys (base64) of the peers bound over libp2p right now. */
  boundAgents: string[];
}

/** Why the view must be read every second now, or undefined when a quiet read will do. */
export function fastReadReason({ view, state, boundAgents }: ReadCadenceInput): string | undefined {
  if (state === "syncing") return "the peer store knows agents whose capability is not here yet";
  const listed = new Set(view.map((p) => p.agent));
  const joining = boundAgents.find((agent) => !listed.has(agent));
  if (joining) return `peer ${joining} is bound over libp2p but its capability is not here yet`;
  const onHeartbeats = onlineUnboundPeer(view, boundAgents);
  if (onHeartbeats) return `peer ${onHeartbeats.name} is online but not bound over libp2p: its liveness rests on DHT heartbeats`;
  return undefined;
}

export function localReadEveryMs(input: ReadCadenceInput): number {
  return fastReadReason(input) === undefined ? QUIET_LOCAL_READ_MS : FAST_LOCAL_READ_MS;
}
