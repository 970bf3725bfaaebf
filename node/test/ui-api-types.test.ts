// The web UI keeps its own copy of the API's shapes (ui/src/api/types.ts: it is built for the browser
// and must not import the daemon). This file makes `tsc` fail when the daemon's types stop fitting
// the UI's copy; the runtime test only makes vitest count it.
import { describe, expect, expectTypeOf, it } from "vitest";
import type * as Ui from "../../ui/src/api/types.ts";
import type { DaemonStatus } from "../src/daemon.ts";
import type { AskResult, LocalModel, MoeEvent } from "../src/api/inference-source.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";
import type { JobRecord, JobSummary } from "../src/moe/moe-history.ts";
import type { MoeResult } from "../src/moe/moe-types.ts";
import type { ComputePolicy } from "../src/jobs/compute-policy.ts";
import type { Daemon } from "../src/daemon.ts";
import type { ShardRow } from "../src/artifacts/model-shards.ts";

describe("the UI's copy of the API types", () => {
  it("accepts what the daemon sends", () => {
    expectTypeOf<DaemonStatus>().toExtend<Ui.DaemonStatus>();
    expectTypeOf<PeerInfo>().toExtend<Ui.PeerInfo>();
    expectTypeOf<MoeResult>().toExtend<Ui.MoeResult>();
    expectTypeOf<MoeEvent>().toExtend<Ui.MoeEvent>();
    expectTypeOf<AskResult>().toExtend<Ui.AskResult>();
    expectTypeOf<LocalModel>().toExtend<Ui.LocalModel>();
    expectTypeOf<JobRecord>().toExtend<Ui.JobRecord>();
    expectTypeOf<JobSummary>().toExtend<Ui.JobSummary>();
    expectTypeOf<ComputePolicy>().toExtend<Ui.ComputePolicy>();
    expectTypeOf<ShardRow>().toExtend<Ui.IpfsShard>();
    expectTypeOf<ReturnType<Daemon["policies"]>["inference"]>().toExtend<Ui.InferencePolicySummary>();
    expect(true).toBe(true);
  });
});
