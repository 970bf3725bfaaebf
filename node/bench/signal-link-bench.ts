// `npm run bench` (part): what linking a short-lived signal to a long-lived one leaves behind, side
// by side: AbortSignal.any against linked-signal.ts, each with an abort listener on the result (as
// fetch and libp2p add) and a 5 ms timeout as the other source (as a ping or a request has). The
// daemon links this way on every liveness ping, binding read, generation and kubo call.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { linkSignals } from "../src/linked-signal.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const links = Number(process.env.RIPPLE_BENCH_SIGNAL_LINKS ?? 100_000);

async function heapLeftBy(link: (session: AbortSignal, other: AbortSignal) => void): Promise<number> {
  const session = new AbortController(); // lives as long as the node
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let done = 0; done < links; done += 10_000) {
    for (let i = 0; i < 10_000; i++) link(session.signal, AbortSignal.timeout(5));
    await new Promise((r) => setTimeout(r, 10)); // let the timeouts fire
  }
  await new Promise((r) => setTimeout(r, 300));
  gc();
  gc();
  return process.memoryUsage().heapUsed - before;
}

// linkSignals first: what AbortSignal.any leaves would otherwise be counted again in the second run.
const linked = await heapLeftBy((session, other) => {
  const l = linkSignals(session, other);
  l.signal.addEventListener("abort", () => {});
  l.dispose();
});
const any = await heapLeftBy((session, other) => AbortSignal.any([session, other]).addEventListener("abort", () => {}));
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
console.log(`signal links (${links.toLocaleString("en")} beside one long-lived signal, Node ${process.version}):`);
console.log(`  AbortSignal.any  heap left ${mb(any)} (${Math.round(any / links)} B a link)`);
console.log(`  linkSignals      heap left ${mb(linked)} (${Math.round(Math.max(0, linked) / links)} B a link)`);
