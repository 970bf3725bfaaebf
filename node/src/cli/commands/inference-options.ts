// Flag and argument parsers of the inference commands (moe, ask, models): each rejects a bad value
// with a message naming the accepted range (commander adds the flag's name; exit code 2).
import { InvalidArgumentError } from "commander";
import { MAX_PROMPT_BYTES, utf8Bytes } from "../../api/inference-schemas.ts";

export function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

export function decimal(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be a number from ${min} to ${max}`);
    return n;
  };
}

export function quorumMode(value: string): "early" | "all" {
  if (value !== "early" && value !== "all") throw new InvalidArgumentError('must be "early" or "all"');
  return value;
}

export function prompt(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("must not be empty");
  const bytes = utf8Bytes(value);
  if (bytes > MAX_PROMPT_BYTES) throw new InvalidArgumentError(`is ${bytes} bytes; at most ${MAX_PROMPT_BYTES} (32 KiB) are accepted`);
  return value;
}
