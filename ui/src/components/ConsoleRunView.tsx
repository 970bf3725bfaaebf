import type { ConsoleRun } from "../state/console-run.ts";
import { formatDuration, formatRate } from "../lib/format.ts";
import { hrefOf } from "../lib/route.ts";
import { useNow } from "../state/use-store.ts";
import { Card } from "./Card.tsx";
import { EmptyState } from "./EmptyState.tsx";
import { ErrorBox } from "./ErrorBox.tsx";
import { KeyValue } from "./KeyValue.tsx";
import { MoeOutcome } from "./MoeOutcome.tsx";
import { SlotStreams } from "./SlotStreams.tsx";

/** The console's run: tokens as they stream in, then the merged answer and its votes. */
export function ConsoleRunView(props: { run: ConsoleRun }) {
  const now = useNow(250);
  const run = props.run;
  if (run.kind === "idle") {
    return (
      <EmptyState title="Nothing run yet">
        An MOE prompt fans out to several expert models on several peers; you see each expert's tokens as they arrive, then the vote. Ctrl+Enter runs.
      </EmptyState>
    );
  }
  const elapsed = formatDuration(now - run.startedMs);
  if (run.kind === "ask") {
    return (
      <Card title={`${run.model}${run.running ? ` · ${elapsed}` : ""}`} testId="console-run">
        <pre class="stream-text solo" data-testid="stream">
          {run.text}
          {run.running ? <span class="caret" aria-hidden="true" /> : null}
        </pre>
        {run.error ? <ErrorBox title="The request failed" message={run.error.message} fix={run.error.fix} /> : null}
        {run.result ? (
          <div data-testid="ask-result">
            <KeyValue
              rows={[
                ["Ran on", run.result.peer],
                ["Tokens", `${run.result.tokens} (prompt ${run.result.promptTokens})`],
                ["Latency", `${formatDuration(run.result.latencyMs)} · ${formatRate(run.result.tokens / (run.result.latencyMs / 1000))}`],
                ["Finish", run.result.finishReason],
                ["Trace id", <span class="mono">{run.result.traceId}</span>],
              ]}
            />
          </div>
        ) : null}
      </Card>
    );
  }
  const { record } = run;
  return (
    <>
      <Card title={run.running ? `Experts streaming · ${elapsed}` : "Experts"} testId="console-run" aside={<span class="muted small">{run.events} progress events</span>}>
        <SlotStreams slots={record.slots} running={run.running} />
      </Card>
      {run.error ? <ErrorBox title="The MOE job failed" message={run.error.message} fix={run.error.fix} /> : null}
      {record.result ? (
        <Card title="Answer" testId="console-outcome" aside={<a href={hrefOf({ page: "jobs", trace: record.result.trace_id })}>job details →</a>}>
          <MoeOutcome result={record.result} />
        </Card>
      ) : null}
    </>
  );
}
