// One agent's source chain takes one commit at a time: two zome calls that write at once fail with
// "the source chain head has moved" (Holochain's optimistic check). A node writes a job, several
// assignments, results and accounting records concurrently (and artifacts and provider records on
// artifact_index's chain), so each DNA's writes go through one queue, and a write that still loses
// the race (to a heartbeat, say) is retried.
import type { ZomeCaller } from "@ripple-mesh/zome-bindings";

/** resource_mesh's writing functions. */
export const RESOURCE_MESH_WRITES = ["create_job", "post_assigned_job", "assign_job", "post_result", "post_result_and_accounting", "claim_job", "record_accounting", "allocate", "release"];
/** artifact_index's writing functions. */
export const ARTIFACT_INDEX_WRITES = ["register_artifact", "add_provider"];

const HEAD_MOVED = /head has moved/i;
const MAX_ATTEMPTS = 4;

/** Runs a zome write, again (up to MAX_ATTEMPTS in all) while it loses the race for the chain head. */
export async function retryWhileHeadMoved<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !HEAD_MOVED.test(String((err as Error)?.message ?? err))) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

/** `zomes` with calls to `writeFns` queued one at a time (reads pass straight through). */
export function serialWrites(zomes: ZomeCaller, writeFns: readonly string[] = RESOURCE_MESH_WRITES): ZomeCaller {
  const writes = new Set(writeFns);
  let tail: Promise<unknown> = Promise.resolve();
  const writeWithRetry = (req: Parameters<ZomeCaller["callZome"]>[0]) => retryWhileHeadMoved(() => zomes.callZome(req));
  return {
    callZome: <T>(req: Parameters<ZomeCaller["callZome"]>[0]): Promise<T> => {
      if (!writes.has(req.fn)) return zomes.callZome<T>(req);
      const run = tail.then(() => writeWithRetry(req));
      tail = run.catch(() => {});
      return run as Promise<T>;
    },
  };
}
