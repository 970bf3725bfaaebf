// A port already taken is a common, confusing failure (kitsune2-bootstrap-srv even waits forever
// when it cannot bind), so check it before starting anything that needs it.
import { createServer } from "node:net";
import { RippleError } from "../errors.ts";

export class PortInUseError extends RippleError {}

export async function assertPortFree(host: string, port: number, flag: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "is already in use" : `cannot be bound (${err.code ?? err.message})`;
      reject(new PortInUseError(`${host}:${port} ${why}`, `choose another with ${flag}, or stop the process holding it (\`ss -ltnp | grep :${port}\`)`, { cause: err }));
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
