// What the web UI reads beside status and peers:
//   GET /v1/jobs          this node's recent MOE runs, newest first (JobSummary[])
//   GET /v1/jobs/served   slots this node served for other nodes' jobs, newest first (ServedSlot[])
//   GET /v1/jobs/:trace   one run with its slots, streamed text and result (JobRecord), or 404
//   GET /v1/policies      the compute and inference policies in force
import type { ServedSlot } from "@ripple-mesh/api-types";
import type { JobRecord, JobSummary } from "../moe/moe-history.ts";
import { sendError, sendJson, withTimeout, type ApiApp } from "./api-reply.ts";

export interface JobSource {
  list(): JobSummary[];
  get(traceId: string): JobRecord | undefined;
  /** Slots served for others (the last 50); without it GET /v1/jobs/served is 404. */
  served?(): ServedSlot[];
}

export function registerJobRoutes(app: ApiApp, opts: { jobs?: JobSource; policies?: () => Promise<unknown>; sourceTimeoutMs: number }): void {
  const { jobs, policies } = opts;
  if (jobs) {
    app.get("/v1/jobs", async (_req, reply) => sendJson(reply, jobs.list()));
    if (jobs.served) {
      const served = jobs.served.bind(jobs);
      app.get("/v1/jobs/served", async (_req, reply) => sendJson(reply, served()));
    }
    app.get("/v1/jobs/:trace", async (req, reply) => {
      const trace = String((req.params as { trace?: unknown }).trace ?? "");
      const job = jobs.get(trace);
      if (!job) {
        return sendError(reply, 404, {
          code: "job_not_found",
          message: `no recent MOE job with trace id ${JSON.stringify(trace.slice(0, 80))} on this node`,
          fix: "GET /v1/jobs lists the jobs this node remembers (the last 50 it ran since it started)",
        });
      }
      return sendJson(reply, job);
    });
  }
  if (policies) {
    app.get("/v1/policies", async (_req, reply) => sendJson(reply, await withTimeout(policies(), opts.sourceTimeoutMs, "policies")));
  }
}
