// The msgpack test vectors shared with Rust (zome-bindings/test-vectors/, written and checked by
// dnas/common/ripple_test_vectors): every entry type of the three DNAs and the main zome
// inputs/outputs, as Holochain encodes them. For each one: @msgpack/msgpack decodes it, the
// binding's zod schema (strict objects) parses it, and @msgpack/msgpack encodes the parsed value
// back to exactly the same bytes, so the bindings and the zomes agree byte for byte on field
// names, field order, integer widths, string/binary headers, nil for None and float64 for f64.
import { readdirSync, readFileSync } from "node:fs";
import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { capabilityRecordSchema, heartbeatSchema, nodeCapabilitySchema, nodeStatusSchema } from "../src/agent-registry.ts";
import { artifactSchema, providerRecordSchema } from "../src/artifact-index.ts";
import { actionHashSchema, foundSchema } from "../src/hashes.ts";
import { readCostSchema } from "../src/read-cost.ts";
import {
  accountingRecordSchema,
  agentTotalsSchema,
  allocationReleaseSchema,
  allocationSchema,
  allocationStatusSchema,
  assignmentSchema,
  claimSchema,
  claimWinnerSchema,
  jobResultSchema,
  jobSchema,
  postedResultSchema,
} from "../src/resource-mesh.ts";

const dir = new URL("../test-vectors/", import.meta.url);

/** The `schema` names of index.json. */
const schemas: Record<string, z.ZodType> = {
  nodeCapabilitySchema,
  heartbeatSchema,
  "heartbeatSchema.omit({ agent: true })": heartbeatSchema.omit({ agent: true }),
  capabilityRecordSchema,
  nodeStatusSchema,
  jobSchema,
  assignmentSchema,
  jobResultSchema,
  claimSchema,
  allocationSchema,
  allocationReleaseSchema,
  accountingRecordSchema,
  "foundSchema(jobSchema)": foundSchema(jobSchema),
  claimWinnerSchema,
  allocationStatusSchema,
  agentTotalsSchema,
  postedResultSchema,
  readCostSchema,
  actionHashSchema,
  artifactSchema,
  providerRecordSchema,
  "foundSchema(artifactSchema)": foundSchema(artifactSchema),
  "foundSchema(providerRecordSchema)": foundSchema(providerRecordSchema),
};

const indexSchema = z.strictObject({
  generated_by: z.string(),
  checked_by: z.array(z.string()),
  encoding: z.string(),
  vectors: z.array(
    z.strictObject({
      file: z.string().regex(/^[a-z0-9_]+\.msgpack$/),
      schema: z.string(),
      dna: z.enum(["agent_registry", "resource_mesh", "artifact_index"]),
      kind: z.enum(["entry", "zome_input", "zome_output", "client_encoded"]),
      rust_type: z.string(),
      description: z.string(),
    }),
  ),
});
const index = indexSchema.parse(JSON.parse(readFileSync(new URL("index.json", dir), "utf8")));

const read = (file: string) => new Uint8Array(readFileSync(new URL(file, dir)));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Fails with the offset of the first differing byte and both sides around it. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what: string) {
  if (Buffer.from(actual).equals(Buffer.from(expected))) return;
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  const from = Math.max(0, at - 8);
  const around = (b: Uint8Array) => hex(b.subarray(from, at + 24));
  expect.fail(
    `${what}: ${actual.length} bytes vs ${expected.length} in the file; first difference at byte ${at} (showing from byte ${from}):\n` +
      `  ts:   ${around(actual)}\n  file: ${around(expected)}`,
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);

describe("msgpack test vectors shared with the Rust zomes", () => {
  it("index.json lists every vector file once, each with a known schema", () => {
    const files = readdirSync(dir).filter((f) => f.endsWith(".msgpack")).sort();
    expect(index.vectors.map((v) => v.file).sort()).toEqual(files);
    expect(new Set(files).size).toBe(index.vectors.length);
    for (const v of index.vectors) expect(Object.keys(schemas), v.file).toContain(v.schema);
    // Each DNA's entry types are all there (the Rust side checks this against its EntryTypes).
    const entryTypes = new Set(index.vectors.filter((v) => v.kind === "entry").map((v) => v.rust_type.split("::").pop()));
    expect([...entryTypes].sort()).toEqual(
      ["AccountingRecord", "Allocation", "AllocationRelease", "Artifact", "Assignment", "Claim", "Heartbeat", "Job", "JobResult", "NodeCapability", "ProviderRecord"].sort(),
    );
  });

  describe.each(index.vectors)("$file ($schema)", ({ file, schema: schemaName }) => {
    const bytes = read(file);
    const schema = schemas[schemaName]!;

    it("decodes, parses with the binding's zod schema and re-encodes to the same bytes", () => {
      const decoded = decode(bytes);
      const parsed = schema.safeParse(decoded);
      if (!parsed.success) expect.fail(`${schemaName} rejects ${file}:\n${z.prettifyError(parsed.error)}`);
      // Plain msgpack round trip first (widths, headers, floats), then the zod output (whose key
      // order is the schema's, which must be the Rust struct's field order).
      expectSameBytes(encode(decoded), bytes, "decode → encode");
      expectSameBytes(encode(parsed.data), bytes, `decode → ${schemaName}.parse → encode`);
    });

    it("is rejected with a renamed or an extra field (strict objects)", () => {
      const decoded = decode(bytes);
      if (!isRecord(decoded)) return; // a bare hash
      const [first, ...rest] = Object.entries(decoded);
      const renamed = Object.fromEntries([[`${first![0]}_renamed`, first![1]], ...rest]);
      expect(schema.safeParse(renamed).success, `${first![0]} renamed`).toBe(false);
      expect(schema.safeParse({ ...decoded, unexpected_field: null }).success, "extra field").toBe(false);
    });
  });

  it("a nested field renamed in a NodeCapability is rejected", () => {
    const capability = decode(read("node_capability_gpu.msgpack")) as { compute: Record<string, unknown> };
    const { cpu_cores, ...compute } = capability.compute;
    expect(nodeCapabilitySchema.safeParse(capability).success).toBe(true);
    expect(nodeCapabilitySchema.safeParse({ ...capability, compute: { ...compute, cpuCores: cpu_cores } }).success).toBe(false);
  });

  it("None is nil and Some is the bare value", () => {
    const gpu = nodeCapabilitySchema.parse(decode(read("node_capability_gpu.msgpack")));
    const noGpu = nodeCapabilitySchema.parse(decode(read("node_capability_no_gpu.msgpack")));
    expect(gpu.compute.gpu).toEqual({ vendor: "nvidia", model: "GeForce RTX 4090", vram_gb: 23.5 });
    expect(noGpu.compute.gpu).toBeNull();
    expect(allocationSchema.parse(decode(read("allocation_no_provider.msgpack"))).provider).toBeNull();
    expect(allocationSchema.parse(decode(read("allocation_with_provider.msgpack"))).provider).toBeInstanceOf(Uint8Array);
  });

  it("integral floats: a capability built in JS encodes to node_capability_integral_floats.msgpack, which Rust decodes", () => {
    // The TS client holds integral numbers (64, 0, 100, …) and @msgpack/msgpack writes them as
    // msgpack ints, not float64. The Rust test integral_floats_from_the_ts_client_decode decodes
    // exactly this file to the NodeCapability with those f64 values.
    const c = nodeCapabilitySchema.parse(decode(read("node_capability_gpu.msgpack")));
    const fromJs = {
      ...c,
      compute: { ...c.compute, ram_gb: 64, gpu: { ...c.compute.gpu!, vram_gb: 24 } },
      storage: { local_ssd_gb: 2000, ipfs_pinned_gb: 0 },
      inference: { ...c.inference, tokens_per_second: 70_000 },
      memory: { total_gb: 64, available_gb: 48 },
      network: { ...c.network, bandwidth_mbps: 1000 },
      load: { cpu_percent: 12.5, gpu_percent: 100, memory_percent: 0 },
    };
    expectSameBytes(encode(nodeCapabilitySchema.parse(fromJs)), read("node_capability_integral_floats.msgpack"), "JS capability with integral floats");
  });
});
