// artifact_index writes of one agent go one at a time (one source chain takes one commit at a time;
// see jobs/serial-writes.ts for the same on resource_mesh), retried when they still lose the race.
import type { ZomeCaller } from "@ripple-mesh/zome-bindings";

const WRITE_FNS = new Set(["register_artifact", "add_provider"]);
const HEAD_MOVED = /head has moved/i;

export function serialIndexWrites(zomes: ZomeCaller): ZomeCaller {
  let tail: Promise<unknown> = Promise.resolve();
  const attempt = async (req: Parameters<ZomeCaller["callZome"]>[0]) => {
    for (let i = 1; ; i++) {
      try {
        return await zomes.callZome(req);
      } catch (err) {
        if (i >= 4 || !HEAD_MOVED.test(String((err as Error)?.message ?? err))) throw err;
        await new Promise((r) => setTimeout(r, 20 * i));
      }
    }
  };
  return {
    callZome: <T>(req: Parameters<ZomeCaller["callZome"]>[0]): Promise<T> => {
      if (!WRITE_FNS.has(req.fn)) return zomes.callZome<T>(req);
      const run = tail.then(() => attempt(req));
      tail = run.catch(() => {});
      return run as Promise<T>;
    },
  };
}
