// Jobs running now, counted by requester: what the per-requester quota and the allocation holds
// both look at. A taken job is given back by the function take() returns, once however often it
// is called; a requester with none running is not kept.
export class RunningJobs {
  private readonly byRequester = new Map<string, number>();

  of(requester: string): number {
    return this.byRequester.get(requester) ?? 0;
  }

  has(requester: string): boolean {
    return this.byRequester.has(requester);
  }

  get total(): number {
    let n = 0;
    for (const count of this.byRequester.values()) n += count;
    return n;
  }

  /** Counts one more job for `requester`; the returned function gives it back. */
  take(requester: string): () => void {
    this.byRequester.set(requester, this.of(requester) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.of(requester) - 1;
      if (left > 0) this.byRequester.set(requester, left);
      else this.byRequester.delete(requester);
    };
  }
}
