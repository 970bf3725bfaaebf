// What one zome read touched (ripple_coordinator_common::ReadCost): the diagnostic answer of
// list_open_jobs_read_cost and get_mesh_view_read_cost, used to check that the reads every node
// makes every second cost the same whatever the mesh's history.
import { z } from "zod";

export const readCostSchema = z.strictObject({
  /** get_links calls made. */
  link_queries: z.number().int().min(0),
  /** Links those calls returned. */
  links: z.number().int().min(0),
  /** Records fetched. */
  records: z.number().int().min(0),
});
export type ReadCost = z.infer<typeof readCostSchema>;
