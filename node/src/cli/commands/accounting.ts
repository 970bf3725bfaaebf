// `ripple accounting [--agent KEY] [--json]`: work each agent served (counted assignments, tokens,
// time), as resource_mesh's get_agent_totals counts it, read through the running node.
import type { Command } from "commander";
import type { AccountingView } from "@ripple-mesh/api-types";
import { LocalApiClient } from "../../api/api-client.ts";
import { fail, globalOptions, printJson, printOut } from "../run.ts";
import { textTable } from "../../text-table.ts";

export function accountingCommand(program: Command): void {
  program
    .command("accounting")
    .description("work served per agent as the mesh counts it: one record per counted assignment, never an agent's own job")
    .option("--agent <key>", "only this agent (its key, as `ripple peers --json` shows it)")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { agent?: string; json?: boolean }, cmd: Command) => {
      try {
        const client = await LocalApiClient.forDataDir(globalOptions(cmd).dataDir);
        const view = await client.accounting(opts.agent !== undefined ? { agent: opts.agent } : {});
        if (opts.json) printJson(view);
        else printOut(formatAccounting(view));
      } catch (err) {
        fail(err);
      }
    });
}

export function formatAccounting(view: AccountingView): string {
  const header = ["AGENT", "KEY", "JOBS", "TOKENS", "SERVED"];
  const rows = view.agents.map((a) => [
    `${a.name ?? "(unknown)"}${a.self ? " (this node)" : ""}`,
    `${a.agent.slice(0, 12)}…`,
    String(a.records),
    String(a.tokens),
    `${(a.served_ms / 1000).toFixed(1)} s`,
  ]);
  const table = textTable([header, ...rows]).trimEnd();
  const pending = view.pending_writes ? `\n${view.pending_writes} result(s) of this node wait to be written` : "";
  return `${table}${pending}\n`;
}
