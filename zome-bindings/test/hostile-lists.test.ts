// A list read from the DHT survives a hostile record in it: a deadline or timestamp past 2^53 (msgpack
// hands JavaScript a rounded number; records written before the zomes bounded them) or a label with
// control characters is dropped, the honest records are returned, where before the whole list
// failed to parse on every node.
import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { agentRegistry, artifactIndex, labelText, onDroppedRecords, resourceMesh, type DroppedRecords, type ZomeCaller } from "../src/index.ts";

const hash = (prefix: number[], n: number) => new Uint8Array([...prefix, ...new Array(36).fill(n)]);
const action = (n: number) => hash([0x84, 0x29, 0x24], n);
const agent = (n: number) => hash([0x84, 0x20, 0x24], n);
const job = (deadline: bigint | number) => ({
  kind: "inference",
  requirements: "{}",
  payload_inline: "{}",
  payload_cid: null,
  deadline_ms: deadline,
  moe_group: null,
  trace_id: "t",
  claim_window_ms: 5000,
});
const found = (n: number, entry: unknown, timestamp: bigint | number = 1_800_000_000_000_000) => ({ action_hash: action(n), author: agent(n), timestamp, entry });

/** A conductor answering `fn` with `value` as it arrives over the wire (int64s through msgpack). */
function conductor(fn: string, value: unknown): ZomeCaller {
  const wire = decode(encode(value, { useBigInt64: true }));
  return { callZome: async <T,>(req: { fn: string }) => (req.fn === fn ? (wire as T) : Promise.reject(new Error(`unexpected ${req.fn}`))) };
}

describe("a hostile record in a DHT list", () => {
  it("an open job whose deadline is 2^62 is dropped; the honest open jobs are listed", async () => {
    const honest = found(1, job(1_800_000_060_000));
    const hostile = found(2, job(2n ** 62n));
    const heard: DroppedRecords[] = [];
    onDroppedRecords((d) => heard.push(d));
    const jobs = await resourceMesh(conductor("list_open_jobs", [hostile, honest])).listOpenJobs();
    onDroppedRecords(undefined);
    expect(jobs.map((j) => j.action_hash[3])).toEqual([1]);
    // Whoever listens hears of it (the daemon logs it).
    expect(heard).toEqual([{ dropped: 1, of: 2, firstProblem: expect.stringContaining("entry.deadline_ms") }]);
    expect(jobs[0]!.entry.deadline_ms).toBe(1_800_000_060_000);
  });

  it("an artifact registration stamped in year 2300 is dropped; the others of the name are listed", async () => {
    const artifact = { cid: "bafyx", name: "m", kind: "model", size: 10, sha256: "a".repeat(64), mime: "x/y", provenance: { job: null, model: null, agent: agent(1), parent_cids: [] } };
    const list = [found(1, artifact), found(2, artifact, 2n ** 60n)];
    const byName = await artifactIndex(conductor("get_artifacts_by_name", list)).byName("m");
    expect(byName.map((a) => a.action_hash[3])).toEqual([1]);
  });

  it("a registration whose name holds a terminal escape is dropped, as the zomes now refuse it; a name with other Unicode is kept", async () => {
    const artifact = (name: string) => ({ cid: "bafyx", name, kind: "model", size: 10, sha256: "a".repeat(64), mime: "x/y", provenance: { job: null, model: null, agent: agent(1), parent_cids: [] } });
    const list = [found(1, artifact("Größe ✓ 模型")), found(2, artifact("m\u001b]52;c;aGk=\u0007")), found(3, artifact("m\u009b2J"))];
    const heard: DroppedRecords[] = [];
    onDroppedRecords((d) => heard.push(d));
    const byName = await artifactIndex(conductor("get_artifacts_by_name", list)).byName("m");
    onDroppedRecords(undefined);
    expect(byName.map((a) => a.action_hash[3])).toEqual([1]);
    expect(heard).toEqual([{ dropped: 2, of: 3, firstProblem: expect.stringContaining("control characters") }]);
  });

  it("labels are measured in bytes of UTF-8, as the zomes measure them", () => {
    expect(labelText(64).safeParse("é".repeat(32)).success).toBe(true);
    expect(labelText(64).safeParse("é".repeat(33)).error?.issues[0]?.message).toBe("must be at most 64 bytes of UTF-8");
    expect(labelText(64).safeParse("🚀".repeat(17)).success).toBe(false); // 34 UTF-16 units, 68 bytes
  });

  it("a list that is not a list is still an error", async () => {
    await expect(resourceMesh(conductor("list_open_jobs", { not: "a list" })).listOpenJobs()).rejects.toThrow();
    await expect(agentRegistry(conductor("list_nodes", "nope")).listNodes()).rejects.toThrow();
  });
});
