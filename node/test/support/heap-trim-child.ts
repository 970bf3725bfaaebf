// A process whose glibc heap holds ~60 MB freed in its middle, for native-heap-trim.test.ts: the
// test runner's own heap would make the figure noise. Started as `node --expose-gc --import tsx`.
// Allocates 30,000 native 2 KB blocks (Buffer backing stores come from malloc), pins the heap's top
// with one more, frees the 30,000, then starts a NativeHeapTrimmer and prints one JSON line:
// {rssStart, rssBefore, rssAfter, state, logs}. glibc's own trim of the heap's top is turned off
// by the test (GLIBC_TUNABLES), so the freed blocks stay wherever malloc put them.
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { residentBytes } from "../../src/supervisor/process-memory.ts";
import { NativeHeapTrimmer } from "../../src/supervisor/native-heap-trim.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("start this with node --expose-gc");

const rssStart = residentBytes(process.pid)!;
let blocks: Buffer[] = [];
for (let i = 0; i < 30_000; i++) blocks.push(Buffer.allocUnsafeSlow(2000).fill(i & 0xff));
const top = Buffer.allocUnsafeSlow(2000).fill(1);
blocks = [];
// Twice, with a pause: backing stores are freed by V8's sweeper after the collection.
gc();
await sleep(200);
gc();
await sleep(200);

const logs: unknown[] = [];
const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
const rssBefore = residentBytes(process.pid)!;
const trimmer = NativeHeapTrimmer.start({ intervalMs: 0, log });
const rssAfter = residentBytes(process.pid)!;
process.stdout.write(`${JSON.stringify({ rssStart, rssBefore, rssAfter, state: trimmer.state(), logs, top: top[0] })}\n`);
