// `ripple status` and `ripple peers`: ask the running node over its local API.
import type { Command } from "commander";
import { LocalApiClient } from "../../api/api-client.ts";
import type { DaemonStatus } from "../../daemon/daemon.ts";
import type { PeerInfo } from "../../mesh/peer-view.ts";
import { fail, globalOptions, printJson, printOut } from "../run.ts";
import { formatPeers, formatStatus } from "../format.ts";

/** A read command: fetch from the running node, print as JSON or for people. */
function readCommand<T>(program: Command, name: string, description: string, fetch: (c: LocalApiClient) => Promise<unknown>, format: (v: T) => string): void {
  program
    .command(name)
    .description(description)
    .option("--json", "print JSON for scripts")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      try {
        const value = (await fetch(await LocalApiClient.forDataDir(globalOptions(cmd).dataDir))) as T;
        if (opts.json) printJson(value);
        else printOut(format(value));
      } catch (err) {
        fail(err);
      }
    });
}

export function statusCommand(program: Command): void {
  readCommand<DaemonStatus>(program, "status", "this node: network, mesh status (connected/syncing/isolated/joining/not-joined), identity, relay", (c) => c.status(), formatStatus);
}

export function peersCommand(program: Command): void {
  readCommand<PeerInfo[]>(program, "peers", "every node of the current mesh, online or offline, with its hardware and load", (c) => c.peers(), (p) => formatPeers(p, Date.now()));
}
