import { Card } from "../components/Card.tsx";
import { EmptyState } from "../components/EmptyState.tsx";
import { JobList } from "../components/JobList.tsx";
import { ServedList } from "../components/ServedList.tsx";
import { LoadableView } from "../components/LoadableView.tsx";
import { useNow, useStore } from "../state/use-store.ts";
import { JobDetailPage } from "./JobDetailPage.tsx";

export function JobsPage(props: { trace: string | undefined }) {
  const { jobs, served } = useStore();
  const now = useNow(1000);
  if (props.trace) return <JobDetailPage trace={props.trace} />;
  return (
    <div data-testid="page-jobs">
      <Card title="MOE jobs run by this node">
        <LoadableView value={jobs} what="jobs">
          {(list) =>
            list.length === 0 ? (
              <EmptyState title="No jobs yet" testId="no-jobs">
                Jobs this node submits appear here live: from the <a href="#/console">Console</a>, <code>ripple moe "…"</code> or the OpenAI-compatible endpoint.
              </EmptyState>
            ) : (
              <JobList jobs={list} now={now} />
            )
          }
        </LoadableView>
      </Card>
      <Card title="Slots served for other nodes">
        <LoadableView value={served} what="served slots">
          {(list) =>
            list.length === 0 ? (
              <EmptyState title="Nothing served yet" testId="no-served">
                Slots of other nodes' MOE jobs that this node runs (or refuses, by its compute policy) appear here: the last 50, kept across restarts.
              </EmptyState>
            ) : (
              <ServedList slots={list} now={now} />
            )
          }
        </LoadableView>
      </Card>
    </div>
  );
}
