// Which under-replicated models this node takes on (storage policy `replication.rehost`). Pure.
//
// A model is under-replicated while fewer verified online nodes provide it than `min_providers`.
// Every node that could help (online, not a provider) ranks the helpers the same way, by
// sha256(cid, agent), so the mesh agrees without talking: the first `deficit` helpers pull, the
// others wait. A helper that cannot or will not (rehost off, no room) would leave the model short
// for good, so each check that still finds the model short widens the turn by one helper more.
// Only a model whose sha256 this node pins (a name alone is anyone's to register) and that fits
// the rehosting budget is ever taken on.
import { createHash } from "node:crypto";
import type { ShardRow } from "@ripple-mesh/api-types";

export interface RehostInput {
  rows: readonly ShardRow[];
  /** This node's agent key. */
  self: string;
  /** Agent keys of the peers this node sees online (self may be among them). */
  onlinePeers: readonly string[];
  /** The sha256 this node pins for a model name, if any. */
  pinnedSha256: (name: string) => string | undefined;
  /** Whether this node already holds a model under that name. */
  holds: (name: string) => boolean;
  /** Bytes the rehosting budget has left. */
  budgetLeftBytes: number;
  /** Per CID: consecutive earlier checks that found it short while this node waited its turn. */
  missedChecks: ReadonlyMap<string, number>;
}

export type RehostDecision =
  | { row: ShardRow; action: "pull"; rank: number; turn: number }
  | { row: ShardRow; action: "wait"; rank: number; turn: number }
  | { row: ShardRow; action: "skip"; reason: string };

/** A helper's place in the order for one CID: the same on every node. */
export function rehostRankKey(cid: string, agent: string): string {
  return createHash("sha256").update(`${cid}\0${agent}`).digest("hex");
}

/**
 * Why this node would never take `row` on, whatever its replica count: its sha256 is not the one
 * pinned here, or this node holds another file under its name. undefined when it could.
 */
export function whyNotRehostable(row: ShardRow, here: Pick<RehostInput, "pinnedSha256" | "holds">): string | undefined {
  const pinned = here.pinnedSha256(row.name);
  if (pinned !== row.sha256) return pinned === undefined ? "no sha256 is pinned for this name here" : "its sha256 is not the one pinned here";
  if (here.holds(row.name)) return "this node holds another file under this name";
  return undefined;
}

/** What this node does about each under-replicated row, in row order. */
export function planRehosting(input: RehostInput): RehostDecision[] {
  const out: RehostDecision[] = [];
  let budget = input.budgetLeftBytes;
  for (const row of input.rows) {
    if (!row.underReplicated || row.local) continue;
    const refused = whyNotRehostable(row, input);
    if (refused) {
      out.push({ row, action: "skip", reason: refused });
      continue;
    }
    if (row.size > budget) {
      out.push({ row, action: "skip", reason: `it does not fit the rehosting budget (${row.size} bytes, ${Math.max(0, budget)} left)` });
      continue;
    }
    const providers = new Set(row.providers.filter((p) => p.online).map((p) => p.agent));
    const helpers = [...new Set([input.self, ...input.onlinePeers])].filter((a) => !providers.has(a));
    helpers.sort((a, b) => rehostRankKey(row.cid, a).localeCompare(rehostRankKey(row.cid, b)));
    const rank = helpers.indexOf(input.self);
    if (rank < 0) {
      out.push({ row, action: "skip", reason: "this node is listed as one of its providers" });
      continue;
    }
    const turn = row.minProviders - row.replicas + (input.missedChecks.get(row.cid) ?? 0);
    if (rank < turn) {
      out.push({ row, action: "pull", rank, turn });
      budget -= row.size; // two pulls in one check must both fit
    } else out.push({ row, action: "wait", rank, turn });
  }
  return out;
}

/** The missed-check counts after a check: waits count one more, everything else starts again. */
export function nextMissedChecks(previous: ReadonlyMap<string, number>, decisions: readonly RehostDecision[]): Map<string, number> {
  const next = new Map<string, number>();
  for (const d of decisions) if (d.action === "wait") next.set(d.row.cid, (previous.get(d.row.cid) ?? 0) + 1);
  return next;
}
