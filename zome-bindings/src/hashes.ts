// zod schemas for Holochain's binary types as they arrive from @holochain/client (msgpack bytes).
import { z } from "zod";

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
