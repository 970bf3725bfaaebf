// `ripple bootstrap serve`: what a testnet/community mesh operator runs — one kitsune2 bootstrap +
// relay server that every node of the mesh is pointed at with `--bootstrap`.
import type { Command } from "commander";
import { BootstrapServer } from "../../bootstrap/bootstrap-server.ts";
import { ensureWritableDataDir } from "../../config/data-dir.ts";
import { assertPortFree } from "../../config/port-check.ts";
import { checkToolchain } from "../../config/toolchain.ts";
import { join } from "node:path";
import { createLogger } from "../../log.ts";
import { listenAddress } from "../options.ts";
import { fail, globalOptions, printErr } from "../run.ts";

export function bootstrapCommand(program: Command): void {
  const bootstrap = program.command("bootstrap").description("run mesh infrastructure");
  bootstrap
    .command("serve")
    .description("run a bootstrap + relay server for a community mesh (nodes join with --bootstrap http://HOST:PORT)")
    .option("--listen <host:port>", "address to listen on (public by design: this server is for other machines)", "0.0.0.0:8787")
    .action(async (opts: { listen: string }, cmd: Command) => {
      const log = createLogger("ripple-bootstrap");
      let server: BootstrapServer | undefined;
      try {
        const { host, port } = listenAddress(opts.listen);
        const { dataDir } = globalOptions(cmd);
        ensureWritableDataDir(dataDir);
        await assertPortFree(host, port, "--listen");
        const tc = await checkToolchain({ only: ["kitsune2-bootstrap-srv"], ...(process.env.RIPPLE_BIN_DIR ? { binDir: process.env.RIPPLE_BIN_DIR } : {}) });
        server = new BootstrapServer({ binary: tc.path("kitsune2-bootstrap-srv"), listen: opts.listen, logDir: join(dataDir, "logs"), log });
        const url = await server.start();
        log.info({ url }, "bootstrap/relay server listening");
        printErr(`ripple: bootstrap/relay server on ${url}; nodes join with \`ripple up --network testnet --bootstrap http://<this host>:${new URL(url).port}\`\n`);
      } catch (err) {
        await server?.stop().catch(() => {});
        fail(err);
      }
      const stop = async () => {
        await server?.stop();
        process.exit(0);
      };
      process.on("SIGINT", () => void stop());
      process.on("SIGTERM", () => void stop());
    });
}
