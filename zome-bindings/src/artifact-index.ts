// Types and typed calls for the artifact_index DNA. Limits mirror the integrity zome's
// (dnas/artifact_index/zomes/integrity/artifact_index_integrity/src/*.rs).
import { z } from "zod";
import { actionHashSchema, agentPubKeySchema, labelText, cidSchema, foundSchema, recordList, sha256HexSchema, validationStatusSchema } from "./hashes.ts";
import type { ZomeCaller } from "./zome-caller.ts";

export const artifactIndexRole = "artifact_index";
const zome = "artifact_index";

export const artifactKinds = ["model", "output", "prompt", "bundle"] as const;

export const provenanceSchema = z.strictObject({
  job: actionHashSchema.nullable(),
  model: cidSchema.nullable(),
  agent: agentPubKeySchema,
  parent_cids: z.array(cidSchema).max(32),
});

export const artifactSchema = z.strictObject({
  cid: cidSchema,
  name: labelText(256),
  kind: z.enum(artifactKinds),
  size: z.number().int().min(0).max(2 ** 40),
  sha256: sha256HexSchema,
  mime: labelText(128),
  provenance: provenanceSchema,
});
export type Artifact = z.infer<typeof artifactSchema>;

export const providerRecordSchema = z.strictObject({ cid: cidSchema, agent: agentPubKeySchema });
export type ProviderRecord = z.infer<typeof providerRecordSchema>;

export function artifactIndex(conductor: ZomeCaller) {
  const call = (fn: string, payload: unknown) => conductor.callZome({ role: artifactIndexRole, zome, fn, payload });
  const artifacts = async (fn: string, key: unknown) => recordList(foundSchema(artifactSchema)).parse(await call(fn, key));
  return {
    registerArtifact: async (artifact: Artifact) => actionHashSchema.parse(await call("register_artifact", artifactSchema.parse(artifact))),
    /** Announce that this agent pins `cid`. */
    addProvider: async (cid: string) => actionHashSchema.parse(await call("add_provider", cidSchema.parse(cid))),
    byCid: (cid: string) => artifacts("get_artifacts_by_cid", cid),
    byName: (name: string) => artifacts("get_artifacts_by_name", name),
    byKind: (kind: Artifact["kind"]) => artifacts("get_artifacts_by_kind", kind),
    byJob: (job: Uint8Array) => artifacts("get_artifacts_by_job", job),
    providers: async (cid: string) => recordList(foundSchema(providerRecordSchema)).parse(await call("get_providers", cid)),
    validationStatus: async (hash: Uint8Array) => validationStatusSchema.parse(await call("validation_status", hash)),
  };
}
