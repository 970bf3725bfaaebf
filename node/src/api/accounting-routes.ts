// Work served, as resource_mesh counts it (`ripple accounting`):
//   GET /v1/accounting[?agent=KEY]   AccountingView: this node's and its peers' totals (or one agent's)
import type { AccountingView } from "@ripple-mesh/api-types";
import { z } from "zod";
import { DaemonNotReadyError } from "../errors.ts";
import { sendJson, withTimeout, type ApiApp } from "./api-reply.ts";
import { InvalidBodyError } from "./inference-schemas.ts";

export interface AccountingSource {
  view(q: { agent?: string }): Promise<AccountingView>;
}

export const accountingRouteList = "GET /v1/accounting";

/** An agent key as @holochain/client encodes it: "uhCAk" and 48 more base64url characters. */
const agentKeySchema = z.string().regex(/^uhCAk[A-Za-z0-9_-]{48}$/, "not an agent key (uhCAk…, 53 characters)");

/** One get_agent_totals per agent, each reading that agent's records: more than status/peers get. */
const ACCOUNTING_TIMEOUT_MS = 60_000;

export function registerAccountingRoutes(app: ApiApp, opts: { accounting: () => AccountingSource | undefined; sourceTimeoutMs: number }): void {
  app.get("/v1/accounting", async (req, reply) => {
    const q = req.query as { agent?: unknown };
    let agent: string | undefined;
    if (q.agent !== undefined) {
      const parsed = agentKeySchema.safeParse(q.agent);
      if (!parsed.success) throw new InvalidBodyError("agent", `invalid agent in the query: ${parsed.error.issues[0]?.message}`, "use ?agent=<an agent key from `ripple peers --json`>, or leave it out");
      agent = parsed.data;
    }
    const source = opts.accounting();
    if (!source) throw new DaemonNotReadyError("the node has not joined a mesh yet", "wait until `ripple status` says running");
    const view = await withTimeout(source.view(agent !== undefined ? { agent } : {}), Math.max(opts.sourceTimeoutMs, ACCOUNTING_TIMEOUT_MS), "accounting");
    return sendJson(reply, view);
  });
}
