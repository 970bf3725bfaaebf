// The daemons one test file starts, and everything they leave: their temporary directories, their
// cleanup after the file (SIGTERM, then the directories), and the per-node view a wait prints when
// it times out.
import { rmSync } from "node:fs";
import { afterAll } from "vitest";
import { describeViews } from "./mesh-views.ts";
import { RippleDaemon } from "./ripple-process.ts";

export class TestFleet {
  readonly nodes: RippleDaemon[] = [];
  private readonly dirs: string[] = [];

  /** `beforeStop` runs first in the cleanup (e.g. closing a browser that talks to the nodes). */
  constructor(beforeStop?: () => Promise<unknown>) {
    afterAll(async () => {
      await beforeStop?.().catch(() => {});
      await this.stopAll();
    }, 90_000);
  }

  /** A temporary directory removed after the file. */
  tempDir(prefix: string): string {
    const dir = RippleDaemon.tempDir(prefix);
    this.dirs.push(dir);
    return dir;
  }

  /** Starts `ripple up` for `name` in `dataDir` (a new temporary one by default). */
  up(name: string, args: string[], opts: { dataDir?: string; env?: NodeJS.ProcessEnv } = {}): RippleDaemon {
    const dataDir = opts.dataDir ?? this.tempDir(`rm-${name}-`);
    if (!this.dirs.includes(dataDir)) this.dirs.push(dataDir);
    const node = RippleDaemon.up(name, dataDir, args, opts.env ? { env: opts.env } : {});
    this.nodes.push(node);
    return node;
  }

  /** Starts another long-running `ripple` command (e.g. `bootstrap serve`) stopped with the fleet. */
  spawn(name: string, args: string[]): RippleDaemon {
    const node = new RippleDaemon(name, this.tempDir(`rm-${name}-`), args);
    this.nodes.push(node);
    return node;
  }

  /** The nodes still running. */
  readonly live = (): RippleDaemon[] => this.nodes.filter((n) => n.exitCode === undefined);

  /** What each running node sees of the mesh, for a timed-out wait. */
  readonly diagnostics = () => describeViews(this.live());

  private async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill("SIGTERM")));
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
