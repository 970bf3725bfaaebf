// Bounded waits: a stop or a refusal waits for something a peer or a child controls, but never
// longer than its grace period.

/** Whether `p` settles (resolves or rejects) within `ms`. The timer does not keep the process alive. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export type Outcome<T> = { kind: "value"; value: T } | { kind: "error"; message: string } | { kind: "late" };

/**
 * `work`'s outcome, or "late" once `ms` passed (when given) or `signal` aborted; the work is left to
 * finish on its own.
 */
export function within<T>(work: Promise<T>, ms: number | undefined, signal?: AbortSignal): Promise<Outcome<T>> {
  if (signal?.aborted) return Promise.resolve({ kind: "late" });
  return new Promise((resolve) => {
    const finish = (o: Outcome<T>) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", late);
      resolve(o);
    };
    const late = () => finish({ kind: "late" });
    const timer = ms === undefined ? undefined : setTimeout(late, Math.max(0, ms));
    signal?.addEventListener("abort", late, { once: true });
    work.then(
      (value) => finish({ kind: "value", value }),
      (err: unknown) => finish({ kind: "error", message: (err as Error)?.message ?? String(err) }),
    );
  });
}
