import type { Policies } from "@ripple-mesh/api-types";
import { formatDuration, formatPercent, shortKey } from "../lib/format.ts";
import { KeyValue } from "./KeyValue.tsx";

/** What this node runs for others (compute policy) and how its own MOE jobs are formed (inference policy). */
export function PolicyView(props: { policies: Policies }) {
  const { compute, inference } = props.policies;
  const req = compute.worker.requesters;
  return (
    <div class="two-col" data-testid="policies">
      <div>
        <h3>Compute policy (what peers may run here)</h3>
        <KeyValue
          rows={[
            ["Serves assigned jobs", compute.worker.serve_assigned_jobs ? "yes" : "no"],
            ["Requesters", req.default === "mesh" ? "any agent of this mesh" : "only the allow list"],
            ["Allow list", req.allow.length ? req.allow.map((k) => shortKey(k)).join(", ") : "—"],
            ["Deny list", req.deny.length ? req.deny.map((k) => shortKey(k)).join(", ") : "—"],
            ["Models", compute.worker.allowed_models.includes("*") ? "every registered model" : compute.worker.allowed_models.join(", ")],
            ["Max tokens per job", String(compute.worker.max_tokens)],
            ["Threads", String(compute.inference.threads)],
            ["GPU", `${compute.inference.gpu}, layers ${compute.inference.gpu_layers}, VRAM budget ${gbOrAuto(compute.inference.gpu_memory_budget_gb)}`],
            ["Memory budget", gbOrAuto(compute.inference.memory_budget_gb)],
            ["Concurrency / queue", `${compute.inference.max_concurrent} / ${compute.inference.max_queue}`],
          ]}
        />
      </div>
      <div>
        <h3>Inference policy (this node's MOE jobs)</h3>
        <KeyValue
          rows={[
            ["Experts per job", `${inference.local_tier.min_parallel}–${inference.local_tier.max_parallel}`],
            ["Slot timeout", formatDuration(inference.local_tier.timeout_ms)],
            ["Reassignments", String(inference.local_tier.max_reassignments)],
            ["Reducer", reducerLine(inference.reducer)],
            ["Cloud tier", inference.cloud_tier.enabled ? inference.cloud_tier.providers.map((p) => p.name).join(", ") || "enabled, no provider" : "off"],
            ["Audit", inference.audit.store_disagreements ? "disagreements stored" : "off"],
          ]}
        />
        <table class="table compact">
          <thead>
            <tr>
              <th>Expert</th>
              <th>Model</th>
              <th class="num">Weight</th>
              <th>Good at</th>
            </tr>
          </thead>
          <tbody>
            {inference.local_tier.experts.map((e) => (
              <tr key={e.name}>
                <td>{e.name}</td>
                <td class="muted">{e.model}</td>
                <td class="num">{e.weight}</td>
                <td class="small">{e.specialization.join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

const gbOrAuto = (v: "auto" | number) => (v === "auto" ? "auto (from this machine)" : `${v} GB`);

/** How votes are merged: weighted consensus, × confidence^exponent when on, agreement asked, quorum. */
function reducerLine(r: Policies["inference"]["reducer"]): string {
  const confidence = r.confidence ? `, votes × confidence${r.confidence_exponent !== 1 ? `^${r.confidence_exponent}` : ""}` : "";
  return `${r.strategy}${confidence}, min agreement ${formatPercent(r.min_agreement)}${r.require_consensus ? ", consensus required" : ""}, quorum ${r.quorum}`;
}
