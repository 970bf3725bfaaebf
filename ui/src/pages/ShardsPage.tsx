import { Card } from "../components/Card.tsx";
import { EmptyState } from "../components/EmptyState.tsx";
import { LoadableView } from "../components/LoadableView.tsx";
import { PullList } from "../components/PullList.tsx";
import { ShardMatrix } from "../components/ShardMatrix.tsx";
import { buildShardMatrix } from "../lib/shards.ts";
import { latestOf } from "../state/store.ts";
import { useNow, useStore } from "../state/use-store.ts";

export function ShardsPage() {
  const { peers, localModels, shards, pulls } = useStore();
  const now = useNow(1000);
  const local = localModels.state === "ready" ? localModels.value : null;
  const ipfs = latestOf(shards) ?? null;
  return (
    <div data-testid="page-shards">
      <LoadableView value={peers} what="peers">
        {(list) => {
          const matrix = buildShardMatrix(list, local, ipfs);
          return (
            <Card title="Models × peers" aside={<span class="muted small">loaded = in memory · on disk = registered here · served = advertised by the peer · pinned = holds its GGUF in IPFS</span>}>
              {matrix.rows.length === 0 ? (
                <EmptyState title="No models yet">
                  No node of this mesh serves a model. Add one with <code>ripple models add FILE.gguf</code> and restart the node.
                </EmptyState>
              ) : (
                <ShardMatrix matrix={matrix} />
              )}
              {localModels.state === "error" ? <div class="warn small">This node's own models could not be read: {localModels.message}</div> : null}
              {shards.state === "error" ? (
                <div class="warn small" data-testid="shards-error">
                  IPFS shards could not be read: {shards.message} {shards.fix}
                </div>
              ) : null}
            </Card>
          );
        }}
      </LoadableView>
      {pulls.length > 0 ? (
        <Card title="Model pulls" aside={
            <span class="muted small">
              this node's pulls since the page opened: <code>ripple models pull</code>, wanted models, rehosting
            </span>
          }>
          <PullList pulls={pulls} now={now} />
        </Card>
      ) : null}
    </div>
  );
}
