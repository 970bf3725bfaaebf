// Writes this node's heartbeat (status + live load + active jobs) to agent_registry on an interval,
// and a final `offline` heartbeat on a clean shutdown so peers need not wait out the liveness window.
import type { HeartbeatInput, Load } from "@ripple-mesh/zome-bindings";
import type { Logger } from "../log.ts";
import { settlesWithin } from "../waits.ts";

export interface HeartbeatLoopOptions {
  intervalMs: number;
  publish: (heartbeat: HeartbeatInput) => Promise<unknown>;
  sampleLoad: () => Promise<Load>;
  activeJobs: () => number;
  log: Logger;
  /** How long stop() waits for the beat in flight, and then for the offline beat (default 5 s each). */
  stopWaitMs?: number;
}

export class HeartbeatLoop {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private readonly log: Logger;
  /** Date.now() of the last heartbeat the zome accepted. */
  lastPublishedMs = 0;

  constructor(private readonly opts: HeartbeatLoopOptions) {
    this.log = opts.log.child({ seam: "heartbeat" });
  }

  /** Publishes one heartbeat now (so peers see the node at once), then one per interval. */
  async start(): Promise<void> {
    // In flight like any beat: a stop during it waits for it (bounded), then announces offline.
    this.inFlight = this.beat("online").finally(() => (this.inFlight = undefined));
    await this.inFlight;
    if (this.stopped) return; // stopped during the first beat: no interval outlives the stop
    this.timer = setInterval(() => {
      // A slow zome call must not pile up calls behind it.
      if (!this.inFlight) this.inFlight = this.beat("online").finally(() => (this.inFlight = undefined));
    }, this.opts.intervalMs);
  }

  /**
   * Stops the loop; with `announceOffline` tells the mesh this node is leaving. A sick conductor
   * (restarting, or hung) must not hold the node's stop: each wait is bounded by stopWaitMs, after
   * which the stop goes on (the conductor is stopped next, which ends the call) and peers see the
   * node go offline when its liveness window passes instead.
   */
  async stop(announceOffline: boolean): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    const waitMs = this.opts.stopWaitMs ?? 5000;
    if (this.inFlight && !(await settlesWithin(this.inFlight, waitMs))) this.log.warn({ waitMs }, "a heartbeat was still in flight at stop; not waiting for it");
    if (announceOffline && this.lastPublishedMs > 0 && !(await settlesWithin(this.beat("offline"), waitMs))) {
      this.log.warn({ waitMs }, "the offline heartbeat did not finish in time; peers will see this node offline after its liveness window");
    }
  }

  private async beat(status: "online" | "offline"): Promise<void> {
    try {
      const load = await this.opts.sampleLoad();
      await this.opts.publish({ status, load, active_jobs: this.opts.activeJobs() });
      this.lastPublishedMs = Date.now();
    } catch (err) {
      // The conductor may be restarting; the next beat will try again.
      this.log.warn({ err: (err as Error).message, status }, "could not publish a heartbeat");
    }
  }
}
