// Follows one MOE job's slots as they settle and, with `quorum: early`, cancels the slots still
// running once outcomeDecided() says nothing they could answer would change the outcome (short
// answers), or majorityAgreed() says a majority of the job's weight already agrees (long answers). Cancelled
// slots stop on their workers (their streams are aborted) and are reported as cancelled, not failed.
// Cloud experts are waited for (they are not cancelled) but count as pending until they answer.
import { majorityAgreed, outcomeDecided, type AnsweredVote } from "./quorum.ts";

export class QuorumReached extends Error {
  constructor() {
    super("cancelled: the outcome was decided without this slot (quorum: early)");
  }
}

export class QuorumWatch {
  private readonly answered: AnsweredVote[] = [];
  private readonly pending = new Map<number, { weight: number; controller: AbortController | undefined }>();
  /** How many answers had arrived when the outcome was decided early; undefined while not. */
  decidedAfter: number | undefined;

  constructor(private readonly opts: { early: boolean; answerKind: "short" | "long"; minAgreement: number; onDecided: (cancelled: number[]) => void }) {}

  /** A slot that will answer; `cancellable` slots get a signal that fires when quorum is reached. */
  expect(slot: number, weight: number, cancellable: boolean): AbortSignal | undefined {
    const controller = cancellable ? new AbortController() : undefined;
    this.pending.set(slot, { weight, controller });
    return controller?.signal;
  }

  answer(vote: AnsweredVote): void {
    this.pending.delete(vote.slot);
    this.answered.push(vote);
    this.check();
  }

  /** A slot that ended without an answer (failed or cancelled): its weight can no longer come. */
  settle(slot: number): void {
    if (!this.pending.delete(slot)) return;
    this.check();
  }

  private check(): void {
    if (!this.opts.early || this.decidedAfter !== undefined || this.pending.size === 0) return;
    const pending = [...this.pending].map(([slot, p]) => ({ slot, weight: p.weight }));
    const decided = this.opts.answerKind === "short" ? outcomeDecided : majorityAgreed;
    if (!decided({ answered: this.answered, pending, minAgreement: this.opts.minAgreement })) return;
    const cancellable = [...this.pending].filter(([, p]) => p.controller);
    if (cancellable.length === 0) return;
    this.decidedAfter = this.answered.length;
    this.opts.onDecided(cancellable.map(([slot]) => slot));
    for (const [, p] of cancellable) p.controller!.abort(new QuorumReached());
  }
}
