// The chaos run behind `npm run chaos` (node/bench/chaos.ts) and its small CI version
// (node/test/chaos.test.ts): N real nodes on a local mesh, J single-model asks (the tiny test model)
// submitted from every node to another node, while two workers are SIGKILLed mid-job and restarted,
// one conductor is SIGKILLed (the daemon's supervisor restarts it) and one kubo is SIGKILLed. Then,
// from every node's own view of resource_mesh (`GET /v1/accounting`): asks completed and lost,
// assignments accounted twice, and each agent's accounting against the jobs it ran (the results its
// worker wrote, from its own logs, across restarts).
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { AccountingView } from "@ripple-mesh/api-types";
import { LocalApiClient } from "../../src/api/api-client.ts";
import { chaosLedger } from "./chaos-ledger.ts";
import { childRunning, childrenOf, killNodeHard } from "./mesh-views.ts";
import { RippleDaemon, type LogLine } from "./ripple-process.ts";
import { waitFor } from "./wait-for.ts";

export interface ChaosOptions {
  nodes: number;
  jobs: number;
  /** Asks in flight per node. */
  concurrency?: number;
  log?: (line: string) => void;
}

export interface ChaosNodeView {
  node: string;
  submitted: number;
  completed: number;
  lost: number;
  /** Records beyond one per job run, or beyond the assignments an agent's worker wrote. */
  doubleCounted: number;
  /** Sum of every agent's counted records, as this node reads them. */
  accounted: number;
  /**
   * Slots a worker ran for another agent and wrote a result and its accounting for, against the
   * slot's current assignment (chaos-ledger.ts, from the nodes' logs): what the DNA pays. A job a node
   * served for itself gets no accounting (`ownJobs`); a write against a slot its requester had since
   * given a newer epoch (a killed worker's resumed write) is not paid.
   */
  jobsRun: number;
  /** Jobs a node ran for itself: a result written, no accounting. */
  ownJobs: number;
  /** Agents counted for more results than their workers wrote. */
  mismatched: string[];
  /** Why this node's accounting never answered within the settle window (a read that failed once and answered later is only an event). */
  accountingError?: string;
}

export interface ChaosReport {
  nodes: ChaosNodeView[];
  events: string[];
  wallMs: number;
}

const TINY = "ripple-tiny-test";
const LIVENESS_MS = 8000;
/** Polls in a row (3 s apart) whose counts equal the poll before, when they differ from the jobs run (4 equal reads, ~9 s): gossip can pause that long. */
const STILL_POLLS = 3;

interface ChaosNode {
  name: string;
  dataDir: string;
  daemon: RippleDaemon;
  /** Log lines of every run of this node (a restart starts a new daemon). */
  logs: LogLine[][];
  agent: string;
}

const client = (n: ChaosNode) => LocalApiClient.forDataDir(n.dataDir);

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const say = opts.log ?? (() => {});
  const started = Date.now();
  const events: string[] = [];
  const event = (what: string) => {
    events.push(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
    say(`[chaos] ${what}`);
  };
  const up = (name: string, dataDir: string) => RippleDaemon.up(name, dataDir, ["--no-measure", "--liveness-window", String(LIVENESS_MS)]);
  const nodes: ChaosNode[] = [];
  for (let i = 0; i < opts.nodes; i++) {
    const name = `n${i}`;
    const dataDir = RippleDaemon.tempDir(`rm-chaos-${name}-`);
    const daemon = up(name, dataDir);
    nodes.push({ name, dataDir, daemon, logs: [daemon.logs], agent: "" });
  }
  try {
    await Promise.all(nodes.map((n) => n.daemon.waitUntilRunning()));
    for (const n of nodes) n.agent = (await (await client(n)).status()).agentPubKey!;
    await waitFor(
      "every node sees every other online",
      async () => {
        const views = await Promise.all(nodes.map(async (n) => (await (await client(n)).peers()).filter((p) => p.online).map((p) => p.agent)));
        return views.every((v) => nodes.every((m) => v.includes(m.agent))) ? true : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    event(`${opts.nodes} nodes see each other`);

    const restart = async (n: ChaosNode) => {
      n.daemon = up(n.name, n.dataDir);
      n.logs.push(n.daemon.logs);
      await n.daemon.waitUntilRunning();
      event(`${n.name} back`);
    };
    // Victims: workers n1 and n2 (daemon and children SIGKILLed, restarted), n3's conductor (n0's on 3 nodes), n0's kubo.
    const conductorVictim = nodes[nodes.length > 3 ? 3 : 0]!;
    const plan: Array<{ at: number; run: () => Promise<void> }> = [
      { at: 0.2, run: async () => killWorker(nodes[1]!) },
      { at: 0.4, run: async () => killWorker(nodes[2 % nodes.length]!) },
      { at: 0.6, run: async () => killChild(conductorVictim, "holochain", "conductor") },
      { at: 0.8, run: async () => killChild(nodes[0]!, "ipfs", "kubo") },
    ];
    const pending: Array<Promise<void>> = [];
    // The chaos steps run one after another, in plan order (a worker kill waits for a slot answer).
    let steps = Promise.resolve();
    async function killWorker(n: ChaosNode) {
      // Mid-job: right after it answers one slot, while the other asks aimed at it are still running.
      const busySince = n.daemon.logs.length;
      await waitFor("a job on the victim", async () => (n.daemon.logs.slice(busySince).some((l) => l.msg === "job slot answered") ? true : undefined), { timeoutMs: 15_000, intervalMs: 20 }).catch(() => {});
      killNodeHard(n.daemon.pid, childrenOf(n.daemon.pid));
      await n.daemon.kill("SIGKILL");
      event(`${n.name} SIGKILLed (daemon, conductor, kubo)`);
      pending.push(restart(n));
    }
    async function killChild(n: ChaosNode, binary: string, label: string) {
      const pid = childRunning(n.daemon.pid, binary);
      if (pid === undefined) return event(`${n.name} has no ${label} to kill`);
      process.kill(pid, "SIGKILL");
      event(`${n.name}'s ${label} SIGKILLed (pid ${pid})`);
    }

    // J asks in all, each node submitting its share to the next nodes in turn.
    const perNode = nodes.map((_, i) => Math.floor(opts.jobs / nodes.length) + (i < opts.jobs % nodes.length ? 1 : 0));
    const results = nodes.map(() => ({ submitted: 0, completed: 0, lost: 0 }));
    let done = 0;
    let nextChaos = 0;
    const concurrency = opts.concurrency ?? 2;
    const askOnce = async (from: ChaosNode, target: ChaosNode, k: number) => {
      const c = await client(from);
      await c.ask({ model: TINY, prompt: `chaos ask ${from.name}-${k}`, max_tokens: 8, peer: target.name }, { timeoutMs: 120_000 });
    };
    await Promise.all(
      nodes.map(async (from, i) => {
        let k = 0;
        const lane = async () => {
          while (k < perNode[i]!) {
            const mine = k++;
            results[i]!.submitted++;
            let ok = false;
            // A user retries a failed ask on another peer for up to 2 minutes (a killed requester takes a while to come back).
            const giveUpAt = Date.now() + 120_000;
            for (let attempt = 0; !ok && Date.now() < giveUpAt; attempt++) {
              const target = nodes[(i + 1 + ((mine + attempt) % (nodes.length - 1))) % nodes.length]!;
              try {
                await askOnce(from, target, mine);
                ok = true;
              } catch {
                await new Promise((r) => setTimeout(r, 3000));
              }
            }
            results[i]![ok ? "completed" : "lost"]++;
            done++;
            while (nextChaos < plan.length && done >= plan[nextChaos]!.at * opts.jobs) {
              const step = plan[nextChaos++]!;
              steps = steps.then(step.run);
            }
          }
        };
        await Promise.all(Array.from({ length: concurrency }, lane));
      }),
    );
    await steps;
    await Promise.all(pending); // restarts queued by the kills
    event(`all ${opts.jobs} asks settled`);

    // What the workers wrote, over all their runs, and which of it the DNA pays (chaos-ledger.ts).
    let ledger = chaosLedger(nodes);
    const written = () => (ledger = chaosLedger(nodes));
    const views = new Map<string, AccountingView>();
    const accountingErrors = new Map<string, string>();
    const overCounted = (view: AccountingView) => view.agents.filter((a) => a.records > (ledger.ranBy.get(a.agent)?.size ?? 0));
    const accountedIn = (view: AccountingView) => view.agents.reduce((s, a) => s + a.records, 0);
    const answered = results.reduce((sum, r) => sum + r.completed, 0);
    let previous = "";
    let stillPolls = 0;
    // Settled: nothing waits to be written, every node counts at least the answered asks served for
    // another agent, and either every node counts every job run for others or the counts held still
    // for STILL_POLLS polls (gossip has stopped bringing records).
    const settled = async () => {
      written();
      let all = true;
      // Every node is read each poll, side by side: one slow or failing node must not hide the others.
      await Promise.all(
        nodes.map(async (n) => {
          const t0 = Date.now();
          try {
            const view = await (await client(n)).accounting();
            views.set(n.name, view);
            accountingErrors.delete(n.name);
            // Answered asks a node served for itself have no accounting record.
            if (view.pending_writes > 0 || accountedIn(view) < answered - ledger.ownJobs) all = false;
          } catch (err) {
            all = false;
            accountingErrors.set(n.name, `${(err as Error).message} (after ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
          }
        }),
      );
      const now = JSON.stringify([...views.values()].map((v) => v.agents.map((a) => a.records)));
      stillPolls = now === previous ? stillPolls + 1 : 0;
      previous = now;
      return all && (stillPolls >= STILL_POLLS || [...views.values()].every((v) => accountedIn(v) === ledger.paid)) ? true : undefined;
    };
    await waitFor("every node's accounting settles", settled, { timeoutMs: 180_000, intervalMs: 3000 }).catch(() => event("accounting did not settle within 180 s; reporting what each node sees"));
    written();
    for (const [name, error] of accountingErrors) {
      event(`${name}'s last accounting read failed: ${error}`);
      say(troubleOf(nodes.find((n) => n.name === name)!));
    }
    if (ledger.superseded > 0) event(`${ledger.superseded} result(s) written against a slot its requester had since given a newer epoch (not paid, by the DNA's rules)`);
    const report: ChaosNodeView[] = nodes.map((n, i) => {
      // A node that never answered: nothing accounted, and its error in the report (and the events above).
      const view = views.get(n.name) ?? { agents: [], pending_writes: -1 };
      const accounted = accountedIn(view);
      return {
        node: n.name,
        ...results[i]!,
        doubleCounted: Math.max(0, accounted - ledger.paid) + overCounted(view).reduce((s, a) => s + a.records - (ledger.ranBy.get(a.agent)?.size ?? 0), 0),
        accounted,
        jobsRun: ledger.paid,
        ownJobs: ledger.ownJobs,
        mismatched: overCounted(view).map((a) => `${a.name ?? a.agent.slice(0, 12)} ${a.records}>${ledger.ranBy.get(a.agent)?.size ?? 0}`),
        ...(views.has(n.name) ? {} : { accountingError: accountingErrors.get(n.name) ?? "never answered" }),
      };
    });
    return { nodes: report, events, wallMs: Date.now() - started };
  } finally {
    await Promise.all(nodes.map((n) => n.daemon.kill("SIGTERM").catch(() => {})));
    for (const n of nodes) rmSync(n.dataDir, { recursive: true, force: true });
  }
}

/**
 * What a node that stopped answering said before its data directory goes: its daemon's warnings
 * and errors (every run) and the end of its conductor's own log, so that a failure can be explained.
 */
function troubleOf(n: ChaosNode, lines = 25): string {
  const warnings = n.logs.flat().filter((l) => Number(l.level) >= 40);
  const conductorLog = join(n.dataDir, "local", "logs", "conductor.log");
  const conductorTail = existsSync(conductorLog) ? readFileSync(conductorLog, "utf8").trimEnd().split("\n").slice(-lines) : ["(no conductor log)"];
  return [
    `[chaos] ${n.name}'s daemon warnings and errors (last ${lines} of ${warnings.length}):`,
    ...warnings.slice(-lines).map((l) => `  ${JSON.stringify(l).slice(0, 600)}`),
    `[chaos] ${n.name}'s conductor log (${conductorLog}), last ${lines} lines:`,
    ...conductorTail.map((l) => `  ${l.slice(0, 400)}`),
  ].join("\n");
}

export function chaosTable(r: ChaosReport): string {
  const head = ["node", "submitted", "completed", "lost", "double-counted", "accounted", "jobs run for others", "own jobs", "mismatched agents"];
  const rows = r.nodes.map((n) => [n.node, n.submitted, n.completed, n.lost, n.doubleCounted, n.accounted, n.jobsRun, n.ownJobs, n.mismatched.join(", ") || "-"].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}
