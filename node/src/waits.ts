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
