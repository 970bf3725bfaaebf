// Which under-replicated models this node takes on (storage policy `replication.rehost`). Pure.
//
// A model is under-replicated while fewer verified online nodes provide it than `min_providers`.
// Every node that could help (online, not a provider) ranks the helpers the same way, by
// sha256(cid, agent), so the mesh agrees without talking: the first `deficit` helpers pull, the
// others wait. A helper that cannot or will not (rehost off, no room) would leave the model short
// for good, so each check that still finds the model short widens the turn by one helper more.
// Only a model whose sha256 this node pins (a name alone is anyone's to register) and that fits
// the rehosting budget is ever taken on.
//
// A copy taken on is given back once the mesh has enough without it: every node orders a model's
// verified providers oldest provider record first, the first `min_providers` keep their copies, and
// a rehosted copy further down the order is given back after GIVE_BACK_AFTER_CHECKS checks in a row
// found it so. Last in, first out: the copies made for a shortage go before the ones that were there.
import { createHash } from "node:crypto";
import type { ProviderView, ShardRow } from "@ripple-mesh/api-types";

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

/** Consecutive checks that must find a rehosted copy surplus before it is given back (a provider's blip is not a recovery). */
export const GIVE_BACK_AFTER_CHECKS = 3;

export interface GiveBackInput {
  /** Each model this node took on and still holds, with its row now (undefined: no longer registered) and its providers as verified this check. */
  held: ReadonlyArray<{ name: string; cid: string; row: ShardRow | undefined; providers: readonly ProviderView[] }>;
  /** This node's agent key. */
  self: string;
  /** Whether the storage policy wants the model here for this node's own use. */
  wanted: (name: string) => boolean;
  /** Per CID: consecutive earlier checks that found the copy surplus. */
  surplusChecks: ReadonlyMap<string, number>;
}

export type GiveBackDecision =
  | { name: string; cid: string; action: "keep"; reason: string }
  | { name: string; cid: string; action: "surplus"; rank: number; checks: number }
  | { name: string; cid: string; action: "give-back"; rank: number; checks: number };

/**
 * The verified online providers of a CID in the order every node computes: the provider whose copy
 * is oldest first, ties by rank key. A provider's copy is as old as its NEWEST record: a node writes
 * one when it first pins the CID and a new one when it pulls it again after giving it back
 * (ArtifactService.announce), so a copy taken on again ranks behind the copies that stayed.
 */
export function providerOrder(cid: string, providers: readonly ProviderView[]): string[] {
  const since = new Map<string, number>();
  for (const p of providers) if (p.online && p.verified === true) since.set(p.agent, Math.max(since.get(p.agent) ?? -Infinity, p.sinceMs));
  return [...since.keys()].sort((a, b) => since.get(a)! - since.get(b)! || rehostRankKey(cid, a).localeCompare(rehostRankKey(cid, b)));
}

function onlineClaims(row: ShardRow): number {
  return new Set(row.providers.filter((p) => p.online).map((p) => p.agent)).size;
}

/** Whether a copy of `row` could be surplus at all, by the providers' claims: only then are they checked (a block read each). */
export function surplusPossible(row: ShardRow): boolean {
  return onlineClaims(row) > row.minProviders;
}

/** What this node does about each model it rehosted: keep it, count it surplus once more, or give it back. */
export function planGiveBack(input: GiveBackInput): GiveBackDecision[] {
  return input.held.map(({ name, cid, row, providers }): GiveBackDecision => {
    const keep = (reason: string): GiveBackDecision => ({ name, cid, action: "keep", reason });
    if (input.wanted(name)) return keep("the storage policy wants it here");
    if (!row) return keep("artifact_index lists no registration of its CID now");
    if (!surplusPossible(row)) return keep(`the mesh lists ${onlineClaims(row)} online provider(s) with this node, ${row.minProviders} wanted`);
    const order = providerOrder(cid, providers);
    const rank = order.indexOf(input.self);
    if (rank < 0) return keep("this node's own copy is not verified (not pinned in its kubo)");
    // At least min_providers verified copies stay ahead of any copy given back.
    if (rank < row.minProviders) {
      return keep(
        order.length <= row.minProviders
          ? `the mesh has ${order.length} verified provider(s) with this node, ${row.minProviders} wanted`
          : `this node is provider ${rank + 1} in the mesh's order (oldest record first), and the first ${row.minProviders} keep their copies`,
      );
    }
    const checks = (input.surplusChecks.get(cid) ?? 0) + 1;
    return { name, cid, action: checks >= GIVE_BACK_AFTER_CHECKS ? "give-back" : "surplus", rank, checks };
  });
}

/**
 * The surplus-check counts after a check: a surplus copy keeps its count (one given back is gone
 * by the next check, or its give-back failed and is tried again then); a copy kept starts again.
 */
export function nextSurplusChecks(decisions: readonly GiveBackDecision[]): Map<string, number> {
  return new Map(decisions.flatMap((d) => (d.action === "keep" ? [] : [[d.cid, d.checks] as const])));
}
