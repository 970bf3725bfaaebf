// Waiting for something that happens eventually (a DHT sync, a peer going offline): poll, and on
// timeout say what was last seen. Shared by the node tests, the scenario tests and the benchmarks.

/** Poll `probe` until it returns a value; on timeout, throw with `diagnostics()` in the message. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs?: number; intervalMs?: number; diagnostics?: () => Promise<string> } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
  const seen = opts.diagnostics ? `\nwhat each node saw:\n${await opts.diagnostics()}` : "";
  const last = lastError ? `\nlast error: ${(lastError as Error).message}` : "";
  throw new Error(`timed out after ${opts.timeoutMs ?? 60_000} ms waiting for ${what}${last}${seen}`);
}
