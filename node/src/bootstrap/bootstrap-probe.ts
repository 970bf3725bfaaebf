// Checks that a bootstrap/relay server answers before the conductor is pointed at it: the conductor
// itself would only retry silently, leaving a node that looks up but never meets anyone.
import { RippleError } from "../errors.ts";

export class BootstrapUnreachableError extends RippleError {}

export async function assertBootstrapReachable(url: string, timeoutMs = 5000): Promise<void> {
  const health = `${url}/health`;
  let status: number;
  try {
    status = (await fetch(health, { signal: AbortSignal.timeout(timeoutMs) })).status;
  } catch (err) {
    const reason = (err as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
    throw new BootstrapUnreachableError(
      `the bootstrap server ${url} is unreachable (${reason})`,
      "check the URL and that this machine can reach it (`curl " + health + "`), or ask the network's operator",
      { cause: err },
    );
  }
  if (status !== 200) {
    throw new BootstrapUnreachableError(
      `${url} answered ${status} on /health: it is not a kitsune2 bootstrap server`,
      "check the URL (it is the one the network's operator runs with `ripple bootstrap serve`)",
    );
  }
}
