// Records a DHT list held that the zome bindings could not take (zome-bindings recordList): left
// out so that one hostile record cannot make a whole list unreadable, and said in the log, at most
// a few times a minute, so that a drift between the bindings and the DNA does not pass unseen.
import { onDroppedRecords } from "@ripple-mesh/zome-bindings";
import type { Logger } from "../log.ts";
import { PerKeyRate } from "../per-key-rate.ts";

const WARNINGS_PER_MINUTE = 6;

export function logDroppedRecords(log: Logger): void {
  const rate = new PerKeyRate(1);
  onDroppedRecords(({ dropped, of, firstProblem }) => {
    if (!rate.take("dropped", WARNINGS_PER_MINUTE)) return;
    log.warn({ dropped, of, firstProblem }, `left ${dropped} of ${of} records of a DHT list out: this node cannot read them (a peer's hostile record, or bindings older than the DNA)`);
  });
}
