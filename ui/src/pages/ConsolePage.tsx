import { Card } from "../components/Card.tsx";
import { ConsoleForm } from "../components/ConsoleForm.tsx";
import { ConsoleRunView } from "../components/ConsoleRunView.tsx";
import { useConsoleRun } from "../state/use-console.ts";
import { useStore } from "../state/use-store.ts";

export function ConsolePage() {
  const { peers, policies } = useStore();
  const run = useConsoleRun();
  const list = peers.state === "ready" ? peers.value : [];
  const models = [...new Set(list.filter((p) => p.online).flatMap((p) => p.models))].sort();
  const policy = policies.state === "ready" ? policies.value.inference : undefined;
  return (
    <div data-testid="page-console">
      <Card title="Console">
        <ConsoleForm models={models} taskTypes={policy?.task_types ?? []} maxExperts={policy?.local_tier.max_parallel ?? 8} running={run.kind !== "idle" && run.running} />
      </Card>
      <ConsoleRunView run={run} />
    </div>
  );
}
