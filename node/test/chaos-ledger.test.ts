// The chaos run's expectation of what resource_mesh pays, worked out from the nodes' logs: only a
// write against its slot's newest epoch counts (the DNA's rule), once per assignment.
import { describe, expect, it } from "vitest";
import { chaosLedger, type LedgerNode } from "./support/chaos-ledger.ts";

const assigned = (job: string, epoch: number, assignment: string, slot = 0) => ({ msg: "slot assigned", job, slot, epoch, assignment });
const wrote = (job: string, assignment: string, paid = true) => ({ msg: "result and accounting written", job, assignment, accounting: paid ? `acc-${assignment}` : null });

describe("chaos ledger", () => {
  it("does not pay a killed worker's resumed write for a slot its requester then served itself", () => {
    const nodes: LedgerNode[] = [
      { agent: "R", logs: [[assigned("J", 1, "a1"), assigned("J", 2, "a2"), wrote("J", "a2", false)]] },
      // The worker's first run answered and was killed; its restart wrote the epoch-1 result.
      { agent: "X", logs: [[{ msg: "job slot answered" }], [wrote("J", "a1")]] },
    ];
    const ledger = chaosLedger(nodes);
    expect(ledger).toMatchObject({ paid: 0, superseded: 1, ownJobs: 1 });
    expect(ledger.ranBy.get("X")).toEqual(new Set(["a1"]));
  });

  it("pays the newest epoch's worker once when both workers of a reassigned slot wrote", () => {
    const nodes: LedgerNode[] = [
      { agent: "R", logs: [[assigned("J", 1, "a1"), assigned("J", 2, "a2")]] },
      { agent: "X", logs: [[wrote("J", "a1")]] },
      { agent: "Y", logs: [[wrote("J", "a2"), wrote("J", "a2")]] },
    ];
    expect(chaosLedger(nodes)).toMatchObject({ paid: 1, superseded: 1, ownJobs: 0 });
  });

  it("pays nobody for a slot whose newest epoch's worker never wrote (the ask failed and was asked again)", () => {
    const nodes: LedgerNode[] = [
      { agent: "R", logs: [[assigned("J", 1, "a1"), assigned("J", 2, "a2"), assigned("K", 1, "k1")]] },
      { agent: "X", logs: [[wrote("J", "a1"), wrote("K", "k1")]] },
    ];
    expect(chaosLedger(nodes)).toMatchObject({ paid: 1, superseded: 1 });
  });

  it("falls back to one payment per job, none for an own job, where the requester's lines were cut by a kill", () => {
    const nodes: LedgerNode[] = [
      { agent: "R", logs: [[wrote("L", "l2", false)]] },
      { agent: "X", logs: [[wrote("J", "a1"), wrote("L", "l1")]] },
      { agent: "Y", logs: [[wrote("J", "a2")]] },
    ];
    expect(chaosLedger(nodes)).toMatchObject({ paid: 1, superseded: 0, ownJobs: 1 });
  });

  it("takes each slot's newest epoch whatever order the lines come in", () => {
    const nodes: LedgerNode[] = [
      { agent: "R", logs: [[assigned("J", 2, "b2", 1), assigned("J", 1, "a1", 0)], [assigned("J", 1, "b1", 1)]] },
      { agent: "X", logs: [[wrote("J", "a1"), wrote("J", "b1")]] },
      { agent: "Y", logs: [[wrote("J", "b2")]] },
    ];
    expect(chaosLedger(nodes)).toMatchObject({ paid: 2, superseded: 1 });
  });
});
