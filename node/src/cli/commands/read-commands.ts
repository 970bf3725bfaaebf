// `ripple status` and `ripple peers`: ask the running node over its local API.
import type { Command } from "commander";
import { LocalApiClient } from "../../api/api-client.ts";
import type { DaemonStatus } from "../../daemon.ts";
import type { PeerInfo } from "../../mesh/peer-view.ts";
import { fail, globalOptions, printJson } from "../run.ts";
import { formatPeers, formatStatus } from "../format.ts";

export function statusCommand(program: Command): void {
  program
    .command("status")
    .description("this node: network, mesh status (connected/syncing/isolated), identity, relay")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      try {
        const client = await LocalApiClient.forDataDir(globalOptions(cmd).dataDir);
        const status = (await client.status()) as DaemonStatus;
        if (opts.json) printJson(status);
        else process.stdout.write(formatStatus(status));
      } catch (err) {
        fail(err);
      }
    });
}

export function peersCommand(program: Command): void {
  program
    .command("peers")
    .description("every node of the current mesh, online or offline, with its hardware and load")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      try {
        const client = await LocalApiClient.forDataDir(globalOptions(cmd).dataDir);
        const peers = (await client.peers()) as PeerInfo[];
        if (opts.json) printJson(peers);
        else process.stdout.write(formatPeers(peers, Date.now()));
      } catch (err) {
        fail(err);
      }
    });
}
