// `ripple down`: ask the running node to leave its mesh cleanly and exit.
import type { Command } from "commander";
import { LocalApiClient } from "../../api/api-client.ts";
import { isProcessAlive, readApiDescriptor } from "../../api/api-descriptor.ts";
import { TimeoutError } from "../../errors.ts";
import { fail, globalOptions, printOut } from "../run.ts";

export function downCommand(program: Command): void {
  program
    .command("down")
    .description("stop the running node (it announces that it goes offline)")
    .option("--timeout <s>", "how long to wait for it to exit", "60")
    .action(async (opts: { timeout: string }, cmd: Command) => {
      try {
        const { dataDir } = globalOptions(cmd);
        const { pid } = await readApiDescriptor(dataDir);
        await (await LocalApiClient.forDataDir(dataDir)).shutdown();
        const deadline = Date.now() + Number(opts.timeout) * 1000;
        while (isProcessAlive(pid)) {
          if (Date.now() > deadline) throw new TimeoutError(`the node (pid ${pid}) did not exit within ${opts.timeout} s`, `look at its output, or stop it with \`kill ${pid}\``);
          await new Promise((r) => setTimeout(r, 200));
        }
        printOut(`stopped (pid ${pid})\n`);
      } catch (err) {
        fail(err);
      }
    });
}
