// `npm run chaos` in small (issue #21): 3 real nodes, 12 single-model asks submitted from every
// node while two workers are SIGKILLed mid-job and restarted, a conductor and a kubo are SIGKILLed.
// Every node's own view afterwards: nothing lost, nothing counted twice, every answered ask
// accounted once, and every agent's accounting equal to the jobs its worker ran for others. The full
// run (4 nodes, 200 asks) is `npm run chaos`.
import { describe, expect, it } from "vitest";
import { chaosTable, runChaos } from "./support/chaos-run.ts";

describe("chaos on a 3-node mesh", () => {
  it("loses nothing and counts nothing twice while nodes, a conductor and a kubo are killed", async () => {
    const report = await runChaos({ nodes: 3, jobs: 12, log: (l) => console.log(l) });
    console.log(chaosTable(report));
    expect(report.events.filter((e) => /SIGKILLed/.test(e))).toHaveLength(4);
    for (const n of report.nodes) {
      expect(n.accountingError, `${n.node}'s accounting read`).toBeUndefined();
      expect(n.submitted).toBe(4);
      expect(n.lost, `${n.node} lost asks`).toBe(0);
      expect(n.completed).toBe(4);
      expect(n.doubleCounted, `${n.node} sees records counted twice`).toBe(0);
      expect(n.mismatched, `${n.node}: agents counted for more than their workers wrote`).toEqual([]);
      // Accounting equals the jobs run for another agent (a job a node served for itself is written
      // with no accounting record, by the DNA's rules; a retry after a killed requester is a job run).
      expect(n.accounted, `${n.node}: accounted records against jobs run for others`).toBe(n.jobsRun);
      expect(n.jobsRun + n.ownJobs).toBeGreaterThanOrEqual(12);
    }
  }, 900_000);
});
