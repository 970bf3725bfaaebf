import { Card } from "../components/Card.tsx";
import { KeyValue } from "../components/KeyValue.tsx";
import { LocalModels } from "../components/LocalModels.tsx";
import { MeshPill } from "../components/MeshPill.tsx";
import { LoadableView } from "../components/LoadableView.tsx";
import { PolicyView } from "../components/PolicyView.tsx";
import { StatusPill } from "../components/StatusPill.tsx";
import { formatDuration, formatRate } from "../lib/format.ts";
import { useStore } from "../state/use-store.ts";
import { describeBackend, describeBudgets, type DaemonStatus } from "@ripple-mesh/api-types";

function conductorPill(s: DaemonStatus) {
  if (!s.conductor) return <StatusPill tone="idle" label="not started" />;
  if (s.conductor.pid === null) return <StatusPill tone="warn" label="restarting" />;
  return <StatusPill tone="good" label="running" />;
}

export function NodePage() {
  const { status, policies, socket, eventsSeen, localModels } = useStore();
  return (
    <div data-testid="page-node">
      <LoadableView value={status} what="node status">
        {(s) => (
          <div class="grid">
            <Card title="Identity">
              <KeyValue
                testId="identity"
                rows={[
                  ["Name", <span class="strong">{s.name}</span>],
                  ["Agent key", <span class="mono break" data-testid="agent-key">{s.agentPubKey ?? "— (not joined yet)"}</span>],
                  ["libp2p peer id", <span class="mono break" data-testid="peer-id">{s.peerId ?? "—"}</span>],
                  ["Listening on", s.multiaddrs.length ? <ul class="plain mono small">{s.multiaddrs.map((a) => <li key={a}>{a}</li>)}</ul> : "—"],
                ]}
              />
            </Card>
            <Card title="Conductor" aside={conductorPill(s)}>
              <KeyValue
                rows={[
                  ["Phase", s.phase],
                  ["Conductor pid", s.conductor?.pid ? String(s.conductor.pid) : "—"],
                  ["Restarts", String(s.conductor?.restarts ?? 0)],
                  ["Daemon pid", String(s.pid)],
                  ["Uptime", formatDuration(s.uptimeMs)],
                ]}
              />
            </Card>
            <Card title="Network" aside={<MeshPill state={s.mesh.state} />}>
              <KeyValue
                rows={[
                  ["Network", s.network],
                  ["Relay", <span class="mono break">{s.relayUrl ?? "—"}</span>],
                  ["Relay host", s.localHost ? (s.localHost.self ? "this node" : <span class="mono">…{s.localHost.hostPeerId.slice(-8)}</span>) : "configured (not elected)"],
                  ["Nodes", `${s.mesh.onlineNodes} online of ${s.mesh.visibleNodes} visible; ${s.mesh.knownAgents} agents in the peer store`],
                  ["Liveness window", s.livenessWindowMs ? formatDuration(s.livenessWindowMs) : "—"],
                  ["Live updates", socket.kind === "open" ? `connected (${eventsSeen} events)` : "disconnected"],
                ]}
              />
            </Card>
            <Card title="Machine">
              <KeyValue
                rows={[
                  ["Hardware class", s.hardwareClass ?? "—"],
                  ["Measured speed", formatRate(s.tokensPerSecond)],
                  ["Inference backend", s.inference ? <span data-testid="inference-backend">{describeBackend(s.inference)}</span> : "—"],
                  ["Inference budgets", s.inference ? describeBudgets(s.inference) : "—"],
                  ["Local API", <span class="mono">{s.api ?? "—"}</span>],
                  ["Data directory", <span class="mono break">{s.dataDir}</span>],
                ]}
              />
            </Card>
          </div>
        )}
      </LoadableView>
      <Card title="Models on this node" testId="models-card">
        <LoadableView value={localModels} what="this node's models">
          {(models) => <LocalModels models={models} />}
        </LoadableView>
      </Card>
      <Card title="Policies in force">
        <LoadableView value={policies} what="policies">
          {(p) => <PolicyView policies={p} />}
        </LoadableView>
      </Card>
    </div>
  );
}
