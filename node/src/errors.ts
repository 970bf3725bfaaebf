// Named errors that tell a person what is wrong and what to do. `fix` is always set.

export class RippleError extends Error {
  readonly fix: string;
  constructor(message: string, fix: string, options?: { cause?: unknown }) {
    super(`${message}. Fix: ${fix}`, options);
    this.name = new.target.name;
    this.fix = fix;
  }

  /** The message without its ". Fix: …" tail (the fix travels in its own field, or is folded into a larger error). */
  get reason(): string {
    const suffix = `. Fix: ${this.fix}`;
    return this.message.endsWith(suffix) ? this.message.slice(0, -suffix.length) : this.message;
  }
}

/** The conductor config file cannot be used. */
export class ConductorConfigError extends RippleError {
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${file} is not a usable conductor config: ${detail}`,
      `correct it, or delete ${file} so that the daemon writes a fresh one (the conductor's data is kept)`,
      options,
    );
  }
}

/** A supervised process did not become ready. */
export class ProcessStartError extends RippleError {}

/** Something did not happen within its time limit. */
export class TimeoutError extends RippleError {}

/** This build's DNAs are not the ones a pinned network runs: joining would put the node on another DHT. */
export class DnaHashMismatchError extends RippleError {}

/** stop() was called while the node was starting: the start ends instead of starting more. */
export class NodeStoppedError extends RippleError {}

/** The daemon cannot serve this now (still starting, stopping, or its conductor is moving): the API answers 503. */
export class DaemonNotReadyError extends RippleError {}
