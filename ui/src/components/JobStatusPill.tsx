import type { JobStatus } from "@ripple-mesh/api-types";
import { StatusPill } from "./StatusPill.tsx";

export function JobStatusPill(props: { status: JobStatus }) {
  if (props.status === "running") return <StatusPill tone="busy" label="running" />;
  if (props.status === "failed") return <StatusPill tone="bad" label="failed" />;
  return <StatusPill tone="good" label="done" />;
}
