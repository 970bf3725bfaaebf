// Writes this node's heartbeat (status + live load + active jobs) to agent_registry on an interval,
// and a final `offline` heartbeat on a clean shutdown so peers need not wait out the liveness window.
import type { HeartbeatInput, Load } from "@ripple-mesh/zome-bindings";
import type { Logger } from "../log.ts";

export interface HeartbeatLoopOptions {
  intervalMs: number;
  publish: (heartbeat: HeartbeatInput) => Promise<unknown>;
  sampleLoad: () => Promise<Load>;
  activeJobs: () => number;
  log: Logger;
}

export class HeartbeatLoop {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly log: Logger;
  /** Date.now() of the last heartbeat the zome accepted. */
  lastPublishedMs = 0;

  constructor(private readonly opts: HeartbeatLoopOptions) {
    this.log = opts.log.child({ seam: "heartbeat" });
  }

  /** Publishes one heartbeat now (so peers see the node at once), then one per interval. */
  async start(): Promise<void> {
    await this.beat("online");
    this.timer = setInterval(() => {
      // A slow zome call must not pile up calls behind it.
      if (!this.inFlight) this.inFlight = this.beat("online").finally(() => (this.inFlight = undefined));
    }, this.opts.intervalMs);
  }

  /** Stops the loop; with `announceOffline` tells the mesh this node is leaving. */
  async stop(announceOffline: boolean): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
    if (announceOffline && this.lastPublishedMs > 0) await this.beat("offline");
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
