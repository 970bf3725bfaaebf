// What a local mesh host serves: the kitsune2 bootstrap/relay server on loopback behind a
// BootstrapFront on the mesh's address, so that its listings leave out agents the host knows are
// dead (bootstrap-front.ts says why). Peers use the front's URL for bootstrap and relay alike.
import type { Logger } from "../log.ts";
import { BootstrapFront, kitsuneAgentId } from "./bootstrap-front.ts";
import { BootstrapServer } from "./bootstrap-server.ts";
import type { HostableServer } from "./local-mesh-host.ts";

export interface FilteredBootstrapServerOptions {
  binary: string;
  /** `HOST:PORT` peers reach the front on; port 0 picks a free one. */
  listen: string;
  logDir: string;
  /** Holochain agent keys of the agents the host measured dead now (asked once per listing). */
  deadAgents: () => Uint8Array[];
  log: Logger;
}

export class FilteredBootstrapServer implements HostableServer {
  private readonly inner: BootstrapServer;
  private readonly front: BootstrapFront;

  constructor(opts: FilteredBootstrapServerOptions) {
    this.inner = new BootstrapServer({ binary: opts.binary, listen: "127.0.0.1:0", logDir: opts.logDir, log: opts.log });
    this.front = new BootstrapFront({ upstream: () => this.inner.url, listen: opts.listen, withheld: () => new Set(opts.deadAgents().map(kitsuneAgentId)), log: opts.log });
  }

  get pid(): number | undefined {
    return this.inner.pid;
  }

  async start(): Promise<string> {
    await this.inner.start();
    try {
      return `http://${await this.front.start()}`;
    } catch (err) {
      await this.inner.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.front.stop();
    await this.inner.stop();
  }
}
