// Input schemas of the MCP tools: zod, strict, with limits. The SDK validates every call against them
// before a tool runs and answers a bad one with a tool error (isError) carrying these messages, so
// each message names the field and says how to correct it.
import { z } from "zod";

const problem = (name: string, what: string, fix: string) => `${name} ${what} (fix: ${fix})`;
const missingOr = (name: string, wrongType: string, fix: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? problem(name, "is missing", fix) : problem(name, wrongType, fix);

export const field = {
  /** A string of 1..max characters (a UTF-8 byte limit too when `maxBytes` is set). */
  text(name: string, o: { max: number; fix: string; description: string; pattern?: RegExp; patternText?: string; maxBytes?: number }) {
    let s = z
      .string({ error: missingOr(name, "must be a string", o.fix) })
      .min(1, { error: problem(name, "must not be empty", o.fix) })
      .max(o.max, { error: problem(name, `must be at most ${o.max} characters`, o.fix) });
    if (o.pattern) s = s.regex(o.pattern, { error: problem(name, `must be ${o.patternText ?? `like ${o.pattern}`}`, o.fix) });
    const withBytes = o.maxBytes === undefined ? s : s.refine((v) => Buffer.byteLength(v, "utf8") <= o.maxBytes!, { error: problem(name, `is larger than ${o.maxBytes} bytes of UTF-8`, o.fix) });
    return withBytes.describe(o.description);
  },

  int(name: string, min: number, max: number, o: { fix?: string; description: string }) {
    const fix = o.fix ?? `set ${name} to a whole number from ${min} to ${max}`;
    const range = `must be a whole number from ${min} to ${max}`;
    return z
      .number({ error: missingOr(name, range, fix) })
      .int({ error: problem(name, range, fix) })
      .min(min, { error: problem(name, range, fix) })
      .max(max, { error: problem(name, range, fix) })
      .describe(o.description);
  },

  bool(name: string, description: string) {
    return z.boolean({ error: missingOr(name, "must be true or false", `set ${name} to true or false, or leave it out`) }).describe(description);
  },

  oneOf<const T extends readonly [string, ...string[]]>(name: string, values: T, description: string) {
    const fix = `set ${name} to one of ${values.join(", ")}`;
    return z.enum(values, { error: missingOr(name, `must be one of ${values.join(", ")}`, fix) }).describe(description);
  },
};

/** The tool's arguments: exactly these fields; an unknown one is named with the fields allowed. */
export function toolInput<S extends z.ZodRawShape>(tool: string, shape: S) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === "unrecognized_keys") {
        const keys = iss.keys.map((k) => `"${k}"`).join(", ");
        return `unknown field${iss.keys.length > 1 ? "s" : ""} ${keys} for ${tool} (fix: remove ${keys}; ${allowed.length ? `the fields are ${allowed.join(", ")}` : "it takes no arguments"})`;
      }
      if (iss.code === "invalid_type") return `the arguments of ${tool} must be an object (fix: send {${allowed.join(", ")}})`;
      return undefined;
    },
  });
}
