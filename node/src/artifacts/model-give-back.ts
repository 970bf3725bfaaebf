// Giving back a model this node pulled for the mesh (replication.rehost) once the mesh no longer
// needs its copy: the inverse of a pull. Its provider record stays in artifact_index (records are
// append-only); peers that check it find the content gone and no longer count it.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { stampPath } from "../config/hashing.mjs";
import type { ModelStore } from "../inference/model-store.ts";
import type { Logger } from "../log.ts";
import type { IpfsStore } from "./ipfs-store.ts";

export interface GiveBackDeps {
  store: Pick<ModelStore, "get" | "modelsDir">;
  ipfs: Pick<IpfsStore, "unpin" | "gc">;
  /** Unregister the model and free its loaded copy (NodeInference.unregisterModel). */
  unregister: (name: string) => Promise<unknown>;
  /** Re-advertise the capability without it. */
  onModelsChanged: () => Promise<void>;
  log: Logger;
}

/**
 * Unregisters `name` (the engine frees its loaded copy once its requests end), unpins `cid` and
 * drops its blocks from kubo, deletes the file a pull wrote for it (`<modelsDir>/<name>.gguf`;
 * a file registered from elsewhere is never deleted), and re-advertises the capability. Only the
 * unregistering can fail the give-back (it is tried again at the next check); once the model is no
 * longer this node's, each later step that fails is logged with what to do by hand.
 */
export async function giveBackModel(deps: GiveBackDeps, name: string, cid: string): Promise<{ unpinned: boolean; fileDeleted: boolean; blocksRemoved: number }> {
  const { log } = deps;
  const { file } = deps.store.get(name);
  await deps.unregister(name);
  const warn = (step: string, fix: string) => (err: Error) => {
    log.warn({ model: name, cid, err: err.message, fix }, `giving back model "${name}": could not ${step}`);
  };
  const unpinned = await deps.ipfs.unpin(cid).then(() => true, (err: Error) => (warn("unpin it", `\`ipfs pin rm ${cid}\` against this node's kubo`)(err), false));
  const blocksRemoved = unpinned ? await deps.ipfs.gc().catch((err: Error) => (warn("collect its blocks", "the next cache eviction collects them")(err), 0)) : 0;
  const fileDeleted = file === join(deps.store.modelsDir, `${name}.gguf`) && deleteFile(file, warn);
  await deps.onModelsChanged().catch(warn("re-advertise this node's models", "POST /v1/capability/publish, or the next start, does"));
  log.info({ model: name, cid, file, unpinned, fileDeleted, blocksRemoved }, `gave back model "${name}"`);
  return { unpinned, fileDeleted, blocksRemoved };
}

function deleteFile(file: string, warn: (step: string, fix: string) => (err: Error) => void): boolean {
  try {
    rmSync(file, { force: true });
    rmSync(stampPath(file), { force: true });
    return true;
  } catch (err) {
    warn(`delete ${file}`, "delete it by hand")(err as Error);
    return false;
  }
}
