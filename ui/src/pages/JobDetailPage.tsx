import { useEffect } from "preact/hooks";
import { Card } from "../components/Card.tsx";
import { ErrorBox } from "../components/ErrorBox.tsx";
import { JobStatusPill } from "../components/JobStatusPill.tsx";
import { KeyValue } from "../components/KeyValue.tsx";
import { LoadableView } from "../components/LoadableView.tsx";
import { MoeOutcome } from "../components/MoeOutcome.tsx";
import { SlotStreams } from "../components/SlotStreams.tsx";
import { formatDuration } from "../lib/format.ts";
import { store } from "../state/store.ts";
import { useNow, useStore } from "../state/use-store.ts";

export function JobDetailPage(props: { trace: string }) {
  const { jobDetails } = useStore();
  const now = useNow(1000);
  useEffect(() => {
    void store.loadJob(props.trace);
  }, [props.trace]);
  const detail = jobDetails[props.trace] ?? { state: "loading" as const };
  return (
    <div data-testid="page-job-detail">
      <p>
        <a href="#/jobs">← all jobs</a>
      </p>
      <LoadableView value={detail} what="the job">
        {(job) => (
          <>
            <Card title="Job" aside={<JobStatusPill status={job.status} />}>
              <div class="prompt">{job.prompt}</div>
              <KeyValue
                rows={[
                  ["Trace id", <span class="mono">{job.trace_id}</span>],
                  ["Task type", job.task_type ?? "default"],
                  ["Started", new Date(job.started_ms).toLocaleString()],
                  ["Took", formatDuration((job.finished_ms ?? now) - job.started_ms) + (job.finished_ms === null ? " so far" : "")],
                ]}
              />
            </Card>
            {job.error ? <ErrorBox title="The job failed" message={job.error.message} /> : null}
            {job.result ? (
              <Card title="Answer" testId="job-outcome">
                <MoeOutcome result={job.result} />
              </Card>
            ) : null}
            <Card title={job.status === "running" ? "Experts (live)" : "Experts' streams"}>
              <SlotStreams slots={job.slots} running={job.status === "running"} />
            </Card>
          </>
        )}
      </LoadableView>
    </div>
  );
}
