// Every test file runs with this setup file (vitest.config.ts `setupFiles`). Test files run one at a
// time on two cores, so a conductor, kubo or daemon that outlives its file slows every later file
// (a CI run once took 120 s for a one-node test that takes 36 s alone, and timed out further on).
//
// Before a file starts, a fresh mark goes into this worker's environment; every process the file
// starts inherits it (daemons pass it on to their conductors, kubos and bootstrap servers). After the
// file's own cleanup, any process still carrying the mark is a leak: it is named on stderr (so the CI
// log says which file leaked what) and killed, so that later files run on a quiet machine.
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { repoRoot } from "../../src/config/paths.mjs";

/** Read by scripts/test-summary.mjs, which prints the leaks of the run in the CI summary. */
const leakLog = join(repoRoot, "workdir", "test-leaks.jsonl");

const MARK = "RIPPLE_TEST_MARK";

interface MarkedProcess {
  pid: number;
  command: string;
}

function markedProcesses(mark: string): MarkedProcess[] {
  const needle = `${MARK}=${mark}\0`;
  const found: MarkedProcess[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "latin1").includes(needle)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      // A zombie has an empty command line and frees nothing by being killed.
      if (command) found.push({ pid, command });
    } catch {
      // Gone meanwhile, or not readable: nothing to do.
    }
  }
  return found;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let mark = "";
let file = "a test file";

beforeAll(() => {
  mark = randomUUID();
  process.env[MARK] = mark;
  file = expect.getState().testPath ?? file;
});

afterAll(async () => {
  // Processes being stopped get a few seconds to exit on their own.
  let left = markedProcesses(mark);
  for (let i = 0; i < 20 && left.length > 0; i++) {
    await sleep(250);
    left = markedProcesses(mark);
  }
  for (const p of left) {
    const command = p.command.slice(0, 300);
    process.stderr.write(`[leak-guard] ${file} left pid ${p.pid} running: ${command}; killing it\n`);
    mkdirSync(join(repoRoot, "workdir"), { recursive: true });
    appendFileSync(leakLog, JSON.stringify({ at: Date.now(), file, pid: p.pid, command }) + "\n");
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}, 30_000);
