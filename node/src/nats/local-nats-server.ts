// `--nats local`: a nats-server of this node's own, bound to 127.0.0.1 on a free port (chosen once per
// start and kept across restarts, so the client reconnects to the same address), supervised like the
// conductor and kubo (restarted when it dies, stopped with the daemon). Its config file (0600) holds
// the token or the nkey's public key when one is set, so that no secret appears on a command line.
import { accessSync, constants, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { RippleError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { SupervisedProcess } from "../supervisor/supervised-process.ts";
import type { NatsAuth } from "./nats-settings.ts";

export const NATS_SERVER_ENV = "RIPPLE_NATS_SERVER";

export interface LocalNatsServerOptions {
  /** Its config file and pid file go here (DATA_DIR/nats). */
  dir: string;
  /** nats-server's own output is appended here. */
  logFile: string;
  auth: NatsAuth;
  log: Logger;
  readyTimeoutMs?: number;
}

export class LocalNatsServer {
  private constructor(
    private readonly proc: SupervisedProcess<true>,
    /** nats://127.0.0.1:PORT */
    readonly url: string,
    readonly address: string,
  ) {}

  static async start(opts: LocalNatsServerOptions): Promise<LocalNatsServer> {
    const command = natsServerBinary();
    const port = await freeLoopbackPort();
    const address = `127.0.0.1:${port}`;
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const configFile = join(opts.dir, "nats-server.conf");
    writeFileSync(configFile, localServerConfig(address, opts.auth), { mode: 0o600 });
    const proc = new SupervisedProcess<true>(
      {
        name: "nats-server",
        command,
        args: ["-c", configFile],
        readyWhen: (line) => (line.includes("Server is ready") ? true : undefined),
        readyTimeoutMs: opts.readyTimeoutMs ?? 15_000,
        logFile: opts.logFile,
        startFix: `see ${opts.logFile}; check that nothing else took ${address}`,
        pidFile: join(opts.dir, "nats-server.pid"),
      },
      opts.log,
    );
    await proc.start();
    opts.log.info({ url: `nats://${address}`, pid: proc.pid }, "local nats-server ready");
    return new LocalNatsServer(proc, `nats://${address}`, address);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}

/** The server's config: loopback only, and the credential the client will present. */
export function localServerConfig(address: string, auth: NatsAuth): string {
  const lines = [`listen: ${JSON.stringify(address)}`];
  if (auth.kind === "token") lines.push(`authorization { token: ${JSON.stringify(auth.token)} }`);
  if (auth.kind === "nkey") lines.push(`authorization { users: [ { nkey: ${JSON.stringify(auth.publicKey)} } ] }`);
  return `${lines.join("\n")}\n`;
}

/** RIPPLE_NATS_SERVER, else `nats-server` on PATH or in the usual system folders. */
function natsServerBinary(): string {
  const configured = process.env[NATS_SERVER_ENV];
  const candidates = configured ? [configured] : [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), "/usr/sbin", "/usr/local/bin", "/usr/bin"].map((d) => join(d, "nats-server"));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not this one
    }
  }
  throw new RippleError(
    configured ? `${NATS_SERVER_ENV}=${configured} is not an executable file` : "--nats local needs nats-server, and none was found on PATH, in /usr/sbin or /usr/local/bin",
    `install it (\`apt install nats-server\`, or a release from https://github.com/nats-io/nats-server), or set ${NATS_SERVER_ENV} to its path; or give --nats the URL of a running server`,
  );
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
