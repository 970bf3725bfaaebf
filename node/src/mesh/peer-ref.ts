// `--peer X` (ripple ask, the ask API): which node X means. Names are chosen by each node and anyone
// can take one, so X is an agent key (always unique) or a name only one node of the mesh has; a name
// several nodes share is refused with the candidates, for the person to pick one by agent key.
import type { PeerInfo } from "@ripple-mesh/api-types";
import { InferenceError } from "../inference/inference-errors.ts";

/** The node `ref` names, or undefined when no node of the view has that agent key or name. */
export function resolvePeerRef(peers: PeerInfo[], ref: string): PeerInfo | undefined {
  const byKey = peers.find((p) => p.agent === ref);
  if (byKey) return byKey;
  const named = peers.filter((p) => p.name === ref);
  if (named.length <= 1) return named[0];
  const list = named.map((p) => `${p.agent} (${p.online ? "online" : "offline"}${p.self ? ", this node" : ""}, ${p.hardwareClass})`).join("; ");
  throw new InferenceError("bad_request", `${named.length} nodes of this mesh are named "${ref}": ${list}`, "pass the agent key of the one you mean with --peer (see `ripple peers --json`)");
}
