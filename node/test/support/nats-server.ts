// A real nats-server for tests: bound to 127.0.0.1 on a random port (the server picks it: -p -1),
// ready once it says so; stopped with SIGTERM (the leak guard kills one a test forgets).
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export const natsServerBin = process.env.RIPPLE_NATS_SERVER ?? "/usr/sbin/nats-server";

export interface TestNatsServer {
  /** nats://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, as nats.js takes it */
  address: string;
  child: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

export function startNatsServer(extraArgs: string[] = [], timeoutMs = 15_000): Promise<TestNatsServer> {
  const child = spawn(natsServerBin, ["-a", "127.0.0.1", "-p", "-1", ...extraArgs], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  return new Promise((resolve, reject) => {
    let port: number | undefined;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`nats-server was not ready within ${timeoutMs} ms:\n${output.join("\n")}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}) during start-up:\n${output.join("\n")}`));
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        output.push(line);
        const listening = /Listening for client connections on [\d.]+:(\d+)/.exec(line);
        if (listening) port = Number(listening[1]);
        if (line.includes("Server is ready") && port !== undefined) {
          clearTimeout(timer);
          resolve({ url: `nats://127.0.0.1:${port}`, address: `127.0.0.1:${port}`, child, output, stop });
        }
      });
    }
  });
}
