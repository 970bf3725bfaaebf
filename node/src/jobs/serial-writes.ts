// One agent's source chain takes one commit at a time: two zome calls that write at once fail with
// "the source chain head has moved" (Holochain's optimistic check). A node writes a job, several
// assignments, results and accounting records concurrently, so its writes go through one queue,
// and a write that still loses the race (to a heartbeat, say) is retried.
import type { ZomeCaller } from "@ripple-mesh/zome-bindings";

const WRITE_FNS = new Set(["create_job", "post_assigned_job", "assign_job", "post_result", "claim_job", "record_accounting", "allocate", "release"]);
const HEAD_MOVED = /head has moved/i;
const MAX_ATTEMPTS = 4;

export function serialWrites(zomes: ZomeCaller): ZomeCaller {
  let tail: Promise<unknown> = Promise.resolve();
  const writeWithRetry = async (req: Parameters<ZomeCaller["callZome"]>[0]) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await zomes.callZome(req);
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS || !HEAD_MOVED.test(String((err as Error)?.message ?? err))) throw err;
        await new Promise((r) => setTimeout(r, 20 * attempt));
      }
    }
  };
  return {
    callZome: <T>(req: Parameters<ZomeCaller["callZome"]>[0]): Promise<T> => {
      if (!WRITE_FNS.has(req.fn)) return zomes.callZome<T>(req);
      const run = tail.then(() => writeWithRetry(req));
      tail = run.catch(() => {});
      return run as Promise<T>;
    },
  };
}
