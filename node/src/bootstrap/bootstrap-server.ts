// A supervised `kitsune2-bootstrap-srv`: bootstrap + iroh relay on one HTTP port, which every node
// of a mesh must reach under the identical URL. After the first start its port is kept, so a
// restart (after a crash) serves the same URL the conductors were configured with.
import { join } from "node:path";
import type { Logger } from "../log.ts";
import { SupervisedProcess } from "../supervisor/supervised-process.ts";

export interface BootstrapServerOptions {
  binary: string;
  /** `HOST:PORT`; port 0 picks a free one. Loopback unless a mesh operator chooses otherwise. */
  listen?: string;
  logDir: string;
  log: Logger;
  readyTimeoutMs?: number;
}

const listeningMarker = /^#kitsune2_bootstrap_srv#listening#(.+)#$/;

export class BootstrapServer {
  private readonly process: SupervisedProcess<string>;
  private listen: string;
  private address: string | undefined;

  constructor(private readonly opts: BootstrapServerOptions) {
    this.listen = opts.listen ?? "127.0.0.1:0";
    this.process = new SupervisedProcess<string>(
      {
        name: "bootstrap server",
        command: opts.binary,
        args: () => ["--listen", this.listen],
        readyWhen: (line) => line.trim().match(listeningMarker)?.[1],
        // It prints nothing and waits forever when it cannot bind (DESIGN.md): the timeout is the error.
        readyTimeoutMs: opts.readyTimeoutMs ?? 15_000,
        logFile: join(opts.logDir, "bootstrap-server.log"),
        pidFile: join(opts.logDir, "bootstrap-server.pid"),
        stopSignal: "SIGINT",
        startFix: `check that ${this.listen} is free and can be bound (another server may hold the port)`,
      },
      opts.log.child({ seam: "bootstrap" }),
    );
    this.process.on("restarted", (addr: string) => (this.address = addr));
  }

  /** The URL conductors use for both `bootstrap_url` and `relay_url`. */
  get url(): string {
    if (!this.address) throw new Error("bootstrap server is not running");
    return `http://${this.address}`;
  }

  get restarts(): number {
    return this.process.restarts;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  async start(): Promise<string> {
    this.address = await this.process.start();
    this.listen = this.address; // restarts reuse the port of the first start

    return this.url;
  }

  stop(): Promise<void> {
    return this.process.stop();
  }
}
