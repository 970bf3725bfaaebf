// `npm run chaos`: N nodes (RIPPLE_CHAOS_NODES, default 4) on a local mesh, J single-model asks
// (RIPPLE_CHAOS_JOBS, default 200, the tiny test model) submitted from every node, while two workers
// are SIGKILLed mid-job and restarted, one conductor and one kubo are SIGKILLed; then, from every
// node's own view, asks completed and lost, records counted twice, and accounting against the jobs
// the workers ran for other agents (a node's job served by itself gets no accounting record). Exits
// 1 when anything was lost, counted twice, over-counted, or a node's accounting differs from the jobs
// run for others.
import { chaosTable, runChaos } from "../test/support/chaos-run.ts";

const nodes = Number(process.env.RIPPLE_CHAOS_NODES ?? 4);
const jobs = Number(process.env.RIPPLE_CHAOS_JOBS ?? 200);
const report = await runChaos({ nodes, jobs, log: (l) => console.log(l) });
console.log(`\n== chaos: ${nodes} nodes, ${jobs} asks, ${(report.wallMs / 1000).toFixed(0)} s ==`);
for (const e of report.events) console.log(`  ${e}`);
console.log(chaosTable(report));
const bad = report.nodes.some((n) => n.lost > 0 || n.doubleCounted > 0 || n.mismatched.length > 0 || n.accounted !== n.jobsRun);
console.log(
  bad
    ? "\nchaos: something was lost, counted twice, over-counted, or a node's accounting differs from the jobs run for others (see the table)"
    : "\nchaos: nothing lost, nothing counted twice, and on every node the accounting equals the jobs run for others",
);
process.exitCode = bad ? 1 : 0;
