// Errors of inference, jobs and MOE. Each carries a stable `code` (API bodies, libp2p refusals,
// CLI messages) and the HTTP status the local API answers with.
import { RippleError } from "../errors.ts";

export const inferenceErrorCodes = {
  bad_request: 400,
  model_not_found: 404,
  policy_refused: 403,
  over_limit: 422,
  no_peer: 503,
  busy: 429,
  timeout: 504,
  cancelled: 499,
  failed: 502,
} as const;
export type InferenceErrorCode = keyof typeof inferenceErrorCodes;

export class InferenceError extends RippleError {
  constructor(
    readonly code: InferenceErrorCode,
    message: string,
    fix: string,
    options?: { cause?: unknown },
  ) {
    super(message, fix, options);
  }

  get httpStatus(): number {
    return inferenceErrorCodes[this.code];
  }
}

export function isInferenceErrorCode(code: unknown): code is InferenceErrorCode {
  return typeof code === "string" && code in inferenceErrorCodes;
}
