// zod schemas for Holochain's binary types as they arrive from @holochain/client (msgpack bytes).
import { z } from "zod";
import { hasControlCharacter, NO_CONTROL_CHARACTERS } from "./labels.ts";

/** A 39-byte HoloHash (3-byte prefix, 32-byte core, 4-byte location). */
const holoHash = (prefix: readonly [number, number, number], what: string) =>
  z.custom<Uint8Array>((v) => v instanceof Uint8Array, `${what} hash must be bytes`).refine(
    (b) => b.length === 39 && b[0] === prefix[0] && b[1] === prefix[1] && b[2] === prefix[2],
    `must be a 39-byte ${what} hash`,
  );

export const agentPubKeySchema = holoHash([0x84, 0x20, 0x24], "AgentPubKey");
export const actionHashSchema = holoHash([0x84, 0x29, 0x24], "ActionHash");
/** Microseconds since the Unix epoch. */
export const timestampSchema = z.number().int();

/** A 64-byte Ed25519 signature. */
export const signatureSchema = z.custom<Uint8Array>((v) => v instanceof Uint8Array, "signature must be bytes").refine(
  (b) => b.length === 64,
  "must be a 64-byte Ed25519 signature",
);

/** How a node's view of the network judged a record (the `validation_status` diagnostics). */
export const validationStatusSchema = z.enum(["Valid", "Rejected", "Abandoned"]).nullable();

/** A record as the coordinators return it: hash, author, time and typed content. */
export const foundSchema = <T extends z.ZodType>(entry: T) =>
  z.strictObject({ action_hash: actionHashSchema, author: agentPubKeySchema, timestamp: timestampSchema, entry });

/**
 * A list of records read from the DHT: each parsed on its own, and one that this side cannot take
 * dropped rather than failing the list. The zomes validated every record, but a hostile peer's can
 * still carry what JavaScript cannot hold (an integer past 2^53, such as a deadline or a timestamp
 * of year 2300, arrives rounded and fails `.int()`): one such record must not make every node's
 * list of open jobs, artifacts or peers unreadable.
 */
export const recordList = <T extends z.ZodType>(item: T) =>
  z.array(z.unknown()).transform((items) => {
    let dropped = 0;
    let firstProblem = "";
    const kept = items.flatMap((raw) => {
      const parsed = item.safeParse(raw);
      if (parsed.success) return [parsed.data as z.output<T>];
      dropped++;
      firstProblem ||= parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ").slice(0, 300);
      return [];
    });
    if (dropped > 0) droppedRecordsListener?.({ dropped, of: items.length, firstProblem });
    return kept;
  });

/** Records a DHT list held that recordList left out: how many, of how many, and why the first. */
export interface DroppedRecords {
  dropped: number;
  of: number;
  firstProblem: string;
}
let droppedRecordsListener: ((d: DroppedRecords) => void) | undefined;

/** Who hears of records left out of a list (the daemon logs them: a drift between these bindings and the DNA would show there). */
export function onDroppedRecords(listener: ((d: DroppedRecords) => void) | undefined): void {
  droppedRecordsListener = listener;
}

/** Shared field schemas; limits mirror ripple_integrity_common. */
export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex sha256");
const utf8 = new TextEncoder();
/** 1..=max bytes of UTF-8, as the zomes count (bad_len): a character count would pass 64 accented letters as 64. */
export const boundedText = (max: number) =>
  z
    .string({ error: "must be a string" })
    .min(1, { error: "must not be empty" })
    .refine((s) => s.length <= max && utf8.encode(s).length <= max, `must be at most ${max} bytes of UTF-8`);
/** A label: bounded text without control characters (see labels.ts). */
export const labelText = (max: number) => boundedText(max).refine((s) => !hasControlCharacter(s), NO_CONTROL_CHARACTERS);
export const optionalLabel = (max: number) => labelText(max).nullable();
export const cidSchema = labelText(128);
