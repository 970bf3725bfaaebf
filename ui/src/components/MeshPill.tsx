import type { MeshState } from "@ripple-mesh/api-types";
import { StatusPill } from "./StatusPill.tsx";

/** The node's mesh state as a pill: connected good; syncing and joining on their way; isolated and not-joined bad. */
export function MeshPill(props: { state: MeshState }) {
  const tone = props.state === "connected" ? "good" : props.state === "syncing" || props.state === "joining" ? "warn" : "bad";
  return <StatusPill tone={tone} label={props.state} />;
}
