// `ripple join <network>`: remember the network for the next `ripple up`, and move a running node.
import type { Command } from "commander";
import { LocalApiClient } from "../../api/api-client.ts";
import { readApiDescriptor } from "../../api/api-descriptor.ts";
import { chooseNetwork } from "../../config/network-choice.ts";
import { ensureWritableDataDir } from "../../config/data-dir.ts";
import { writePreferences } from "../../config/node-preferences.ts";
import type { DaemonStatus } from "../../daemon/daemon.ts";
import { fail, globalOptions, printJson, printOut } from "../run.ts";

export function joinCommand(program: Command): void {
  program
    .command("join")
    .description("join another mesh: a running node leaves its mesh and joins this one; `ripple up` will use it next time")
    .argument("<network>", "local | testnet | mainnet")
    .option("--bootstrap <url>", "the network's bootstrap/relay server URL (testnet/mainnet)")
    .option("--json", "print JSON for scripts")
    .action(async (network: string, opts: { bootstrap?: string; json?: boolean }, cmd: Command) => {
      try {
        const { dataDir } = globalOptions(cmd);
        chooseNetwork(network, { bootstrapUrl: opts.bootstrap }); // a typo fails here, before anything changes
        ensureWritableDataDir(dataDir);
        const running = await readApiDescriptor(dataDir).catch(() => undefined);
        if (!running) {
          writePreferences(dataDir, { network: network as "local", ...(opts.bootstrap ? { bootstrapUrl: opts.bootstrap } : {}) });
          if (opts.json) printJson({ network, running: false });
          else printOut(`saved: the next \`ripple up\` joins ${network}\n`);
          return;
        }
        // The running node remembers the network itself once it has joined it (daemon.ts).
        const client = await LocalApiClient.forDataDir(dataDir);
        const status = await client.join({ network, ...(opts.bootstrap ? { bootstrapUrl: opts.bootstrap } : {}) });
        if (opts.json) printJson({ network, running: true, status });
        else printOut(`${status.name} left its mesh and joined ${status.network} (mesh ${status.mesh.state})\n`);
      } catch (err) {
        fail(err);
      }
    });
}
