import { Card } from "../components/Card.tsx";
import { EmptyState } from "../components/EmptyState.tsx";
import { LoadableView } from "../components/LoadableView.tsx";
import { PeerTable } from "../components/PeerTable.tsx";
import { Topology } from "../components/Topology.tsx";
import { useNow, useStore } from "../state/use-store.ts";

export function PeersPage() {
  const { peers, status } = useStore();
  const now = useNow(1000);
  const window = status.state === "ready" ? status.value.livenessWindowMs : null;
  return (
    <div data-testid="page-peers">
      <LoadableView value={peers} what="peers">
        {(list) => {
          const others = list.filter((p) => !p.self);
          const online = others.filter((p) => p.online).length;
          return (
            <>
              <div class="summary">
                <span>
                  <strong>{online}</strong> of {others.length} peer{others.length === 1 ? "" : "s"} online
                </span>
                {window ? <span class="muted">a peer silent for {window / 1000} s counts as offline</span> : null}
              </div>
              <Card title="Topology">
                {list.length === 0 ? null : <Topology peers={list} />}
                {others.length === 0 ? (
                  <EmptyState title="No peers yet" testId="no-peers">
                    This node has not seen another node of its mesh. Start <code>ripple up</code> on another machine of this LAN (or with another <code>--data-dir</code> here);
                    it appears within seconds.
                  </EmptyState>
                ) : null}
              </Card>
              {list.length > 0 ? (
                <Card title="Nodes">
                  <PeerTable peers={list} now={now} />
                </Card>
              ) : null}
            </>
          );
        }}
      </LoadableView>
    </div>
  );
}
