// A process that starts four worker threads and reports how many malloc arenas glibc has before and
// after, for native-heap-trim.test.ts. Argument `limit`: limitMallocArenas(1) is called first (as
// ripple.mjs does); `none`: glibc's default (up to 8 arenas per core). glibc's malloc_stats()
// writes one "Arena N:" block per arena to stderr; the test counts them between the markers printed here.
// Plain JavaScript, run by plain node as ripple.mjs is: a loader such as tsx starts threads of its own
// before the first line runs.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { limitMallocArenas } from "../../src/supervisor/glibc-malloc.mjs";

const koffi = createRequire(import.meta.url)("koffi");
const mallocStats = koffi.load("libc.so.6").func("void malloc_stats(void)");
const stats = (label) => {
  process.stderr.write(`=== ${label}\n`);
  mallocStats();
  process.stderr.write(`=== end\n`);
};

if (process.argv[2] === "limit") {
  const result = limitMallocArenas(1);
  if (!("limited" in result)) throw new Error(result.reason);
}
stats("before");
// Each worker allocates native memory (Buffer backing stores come from malloc) and waits to be ended.
const code = `const { parentPort } = require("node:worker_threads"); const keep = []; for (let i = 0; i < 200; i++) keep.push(Buffer.allocUnsafeSlow(4096).fill(i)); parentPort.postMessage("ready"); setInterval(() => keep.length, 1000);`;
const workers = Array.from({ length: 4 }, () => new Worker(code, { eval: true }));
await Promise.all(workers.map((w) => new Promise((resolve) => w.once("message", resolve))));
stats("after");
await Promise.all(workers.map((w) => w.terminate()));
