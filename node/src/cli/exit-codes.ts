// Exit codes scripts can act on.
import { MissingBootstrapUrlError, UnknownNetworkError } from "../config/network-choice.ts";
import { NoDaemonRunningError } from "../api/api-descriptor.ts";
import { NatsConfigError } from "../nats/nats-config-error.ts";

export const exitCodes = {
  ok: 0,
  /** Something failed at run time (the message says what and how to fix it). */
  failure: 1,
  /** The command line is wrong: unknown flag, bad value, unknown network. */
  usage: 2,
  /** A command that talks to the node found none running. */
  noDaemon: 3,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UnknownNetworkError || err instanceof MissingBootstrapUrlError || err instanceof NatsConfigError || err instanceof UsageError) return exitCodes.usage;
  if (err instanceof NoDaemonRunningError) return exitCodes.noDaemon;
  return exitCodes.failure;
}

/** A flag value that cannot be used. */
export class UsageError extends Error {}
