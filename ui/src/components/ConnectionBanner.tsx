import type { SocketState } from "../api/event-socket.ts";
import type { DaemonStatus } from "@ripple-mesh/api-types";
import { store } from "../state/store.ts";
import { useNow } from "../state/use-store.ts";

/**
 * Says when what the page shows may be stale or the node is not fully up: the daemon unreachable
 * (with the reconnect countdown), the node starting or switching meshes, the conductor restarting.
 */
export function ConnectionBanner(props: { socket: SocketState; status: DaemonStatus | undefined }) {
  const now = useNow(500);
  const { socket, status } = props;
  if (socket.kind === "waiting") {
    const secs = Math.max(0, Math.ceil((socket.retryAt - now) / 1000));
    return (
      <div class="banner banner-bad" role="status" data-testid="connection-banner" data-state="unreachable">
        <strong>Daemon unreachable</strong> — {socket.lastError}. Reconnecting {secs > 0 ? `in ${secs} s` : "now"} (attempt {socket.attempt}); what you see may be out of date.
        <button type="button" class="link" onClick={() => store.retryNow()}>
          Retry now
        </button>
      </div>
    );
  }
  if (socket.kind === "connecting" && socket.attempt > 0) {
    return (
      <div class="banner banner-warn" role="status" data-testid="connection-banner" data-state="reconnecting">
        <strong>Reconnecting</strong> to the daemon…
      </div>
    );
  }
  if (status?.offline) {
    return (
      <div class="banner banner-bad" role="status" data-testid="connection-banner" data-state="offline">
        <strong>In no mesh</strong> — {status.offline.message}. <span class="muted">Fix: {status.offline.fix}</span>
      </div>
    );
  }
  if (status && status.phase !== "running") {
    return (
      <div class="banner banner-warn" role="status" data-testid="connection-banner" data-state={status.phase}>
        <strong>The node is {status.phase}</strong>
        {status.phase === "starting" ? " — it joins the mesh in a few seconds (the first start compiles the hApp: up to a minute)." : "."}
      </div>
    );
  }
  if (status?.conductor && status.conductor.pid === null) {
    return (
      <div class="banner banner-warn" role="status" data-testid="connection-banner" data-state="conductor-restarting">
        <strong>Conductor restarting</strong> — mesh reads and jobs resume when it is back
        {status.conductor.restarts > 0 ? ` (${status.conductor.restarts} restart${status.conductor.restarts === 1 ? "" : "s"} since the node started)` : " (e.g. moving to a newly elected relay)"}.
      </div>
    );
  }
  return null;
}
