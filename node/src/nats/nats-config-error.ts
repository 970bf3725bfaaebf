// The error for a `--nats` value or NATS credentials that cannot be used, in a file of its own so that
// the CLI's exit codes can name it without loading the NATS client.
import { RippleError } from "../errors.ts";

/** `--nats` or its credentials cannot be used (the command line is wrong: exit code 2). */
export class NatsConfigError extends RippleError {}
