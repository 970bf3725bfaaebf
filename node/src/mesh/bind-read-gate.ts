// When a peer binds and this node does not list it yet, the mesh session reads the DHT at once
// instead of waiting for its read cadence. A bind costs a peer little (agent keys and peer ids are
// free to make), so those early reads are bounded: a few per agent a minute, and a few a minute in
// all. A bind past the bound only waits for the regular read, which lists the peer anyway.
import { PerKeyRate } from "../per-key-rate.ts";

export const BIND_READS_PER_AGENT_A_MINUTE = 2;
export const BIND_READS_A_MINUTE = 12;

export class BindReadGate {
  private readonly perAgent: PerKeyRate;
  private readonly all: PerKeyRate;

  constructor(now: () => number = Date.now) {
    this.perAgent = new PerKeyRate(1000, now);
    this.all = new PerKeyRate(1, now);
  }

  /** Whether a bind of `agent` may start a read now (counted when it may). */
  allow(agent: string): boolean {
    return this.all.count("all") < BIND_READS_A_MINUTE && this.perAgent.take(agent, BIND_READS_PER_AGENT_A_MINUTE) && this.all.take("all", BIND_READS_A_MINUTE);
  }
}
