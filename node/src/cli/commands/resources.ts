// `ripple resources list|allocate|release|schedule`: what online peers offer, and this node's
// allocations in resource_mesh (Allocation / AllocationRelease entries), through the running node.
import type { AllocationView, ResourceOffer, ResourceType, ScheduleResult } from "@ripple-mesh/api-types";
import { MAX_ALLOCATION_SECONDS, RESOURCE_TYPES } from "@ripple-mesh/api-types";
import { InvalidArgumentError, type Command } from "commander";
import { LocalApiClient } from "../../api/api-client.ts";
import { UsageError } from "../exit-codes.ts";
import { formatMoeResult } from "../inference-format.ts";
import { fail, globalOptions, printJson, printOut } from "../run.ts";
import { prompt, wholeNumber } from "./inference-options.ts";
import { textTable } from "../../text-table.ts";

function resourceType(value: string): ResourceType {
  if (!(RESOURCE_TYPES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${RESOURCE_TYPES.join(", ")}`);
  return value as ResourceType;
}

const ago = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;

export function formatOffers(peers: ResourceOffer[]): string {
  if (peers.length === 0) return "no online peer (with that model)\n";
  const rows = peers.map((p) => [
    p.name + (p.self ? " (this node)" : ""),
    p.hardwareClass,
    `${p.activeJobs}/${p.maxConcurrentJobs ?? "?"}`,
    `${Math.round(p.load.cpu_percent)}%`,
    p.tokensPerSecond.toFixed(1),
    String(p.allocatedByMe),
    p.models.join(", ") || "-",
  ]);
  return textTable([["PEER", "CLASS", "JOBS", "CPU", "TOK/S", "ALLOCATED", "MODELS"], ...rows]);
}

export function formatAllocations(list: AllocationView[], nowMs: number): string {
  if (list.length === 0) return "no allocations\n";
  const rows = list.map((a) => [
    a.allocation,
    a.state,
    a.role,
    a.provider?.name ?? a.provider?.agent.slice(0, 12) ?? "-",
    a.model ?? "-",
    a.state === "active" ? `in ${ago(a.expiresAtMs - nowMs)}` : new Date(a.expiresAtMs).toISOString(),
  ]);
  return textTable([["ALLOCATION", "STATE", "ROLE", "PROVIDER", "MODEL", "EXPIRES"], ...rows]);
}

export function resourcesCommand(program: Command): void {
  const resources = program.command("resources").description("peers' capacity and this node's allocations in resource_mesh: list, allocate, release, schedule");

  resources
    .command("list")
    .description("online peers with their capacity, and this node's active allocations")
    .option("--model <name>", "only peers that serve this model")
    .option("--all", "also released and expired allocations")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { model?: string; all?: boolean; json?: boolean }, cmd: Command) => {
      try {
        const client = await LocalApiClient.forDataDir(globalOptions(cmd).dataDir);
        const view = await client.resources({ ...(opts.model ? { model: opts.model } : {}), ...(opts.all ? { all: true } : {}) });
        if (opts.json) return printJson(view);
        printOut(formatOffers(view.peers) + "\n" + formatAllocations(view.allocations, Date.now()));
      } catch (err) {
        fail(err);
      }
    });

  resources
    .command("allocate")
    .description("reserve a peer for a time (an Allocation entry naming it as provider)")
    .option("--peer <name-or-agent>", "the provider: a node name or agent key (`ripple peers`); without it --model picks the least busy peer serving the model")
    .option("--model <name>", "the model the allocation is for")
    .requiredOption("--duration <seconds>", `how long it holds, 1 to ${MAX_ALLOCATION_SECONDS} seconds (7 days)`, wholeNumber(1, MAX_ALLOCATION_SECONDS))
    .option("--type <type>", `what is reserved: ${RESOURCE_TYPES.join(", ")} (default inference)`, resourceType)
    .option("--locality <text>", "a locality preference (at most 32 bytes of UTF-8, no control characters)")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { peer?: string; model?: string; duration: number; type?: ResourceType; locality?: string; json?: boolean }, cmd: Command) => {
      try {
        if (!opts.peer && !opts.model) throw new UsageError("ripple resources allocate needs --peer <name or agent key>, or --model <name> to pick a peer serving it");
        const client = await LocalApiClient.forDataDir(globalOptions(cmd).dataDir);
        const a = await client.allocate({
          ...(opts.peer ? { peer: opts.peer } : {}),
          ...(opts.model ? { model: opts.model } : {}),
          duration_s: opts.duration,
          ...(opts.type ? { resource_type: opts.type } : {}),
          ...(opts.locality ? { locality: opts.locality } : {}),
        });
        if (opts.json) return printJson(a);
        printOut(`allocated ${a.provider?.name ?? a.provider?.agent ?? "?"}${a.model ? ` for ${a.model}` : ""} until ${new Date(a.expiresAtMs).toISOString()}: ${a.allocation}\n`);
      } catch (err) {
        fail(err);
      }
    });

  resources
    .command("release")
    .description("end one of this node's allocations now (an AllocationRelease entry)")
    .argument("<allocation>", "the allocation hash (`ripple resources list`)")
    .option("--reason <text>", "why (at most 256 characters)")
    .option("--json", "print JSON for scripts")
    .action(async (allocation: string, opts: { reason?: string; json?: boolean }, cmd: Command) => {
      try {
        const client = await LocalApiClient.forDataDir(globalOptions(cmd).dataDir);
        const a = await client.release({ allocation, ...(opts.reason ? { reason: opts.reason } : {}) });
        if (opts.json) return printJson(a);
        printOut(`released ${a.allocation} (${a.provider?.name ?? a.provider?.agent ?? "no provider"})\n`);
      } catch (err) {
        fail(err);
      }
    });

  resources
    .command("schedule")
    .description("run a task on the mesh as an MOE job through resource_mesh, optionally under an active allocation")
    .argument("<prompt>", "the task (at most 32 KiB)", prompt)
    .option("--allocation <hash>", "run under this active allocation of this node")
    .option("--task-type <type>", "a task type of inference_policy.yaml (default: the policy's)")
    .option("--experts <n>", "how many experts to ask", wholeNumber(1, 16))
    .option("--max-tokens <n>", "at most this many tokens per expert answer", wholeNumber(1, 2048))
    .option("--no-require-consensus", "return the best-weighted answer even below the policy's agreement")
    .option("--json", "print JSON for scripts")
    .action(async (text: string, opts: { allocation?: string; taskType?: string; experts?: number; maxTokens?: number; requireConsensus?: boolean; json?: boolean }, cmd: Command) => {
      try {
        const client = await LocalApiClient.forDataDir(globalOptions(cmd).dataDir);
        const r: ScheduleResult = await client.schedule({
          prompt: text,
          ...(opts.allocation ? { allocation: opts.allocation } : {}),
          ...(opts.taskType ? { task_type: opts.taskType } : {}),
          ...(opts.experts !== undefined ? { experts: opts.experts } : {}),
          ...(opts.maxTokens !== undefined ? { max_tokens: opts.maxTokens } : {}),
          ...(opts.requireConsensus === false ? { require_consensus: false } : {}),
        });
        if (opts.json) return printJson(r);
        printOut(`scheduled: trace ${r.trace_id}, job ${r.job ?? "(none)"}${r.allocation ? `, under ${r.allocation.allocation}` : ""}\n` + formatMoeResult(r.result));
      } catch (err) {
        fail(err);
      }
    });
}
