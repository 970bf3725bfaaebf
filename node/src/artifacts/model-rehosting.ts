// Keeps the mesh's pinned models available (storage policy `replication.rehost`): every check, this
// node lists the models registered in artifact_index, counts who verifiably provides each, and pulls
// the under-replicated ones whose turn it is (rehost-plan.ts), within its rehosting budget. What it
// took on is recorded in rehosted.json (the budget counts it across restarts); a model removed by
// hand (`ripple models rm`) no longer counts. A copy the mesh no longer needs (the model is well
// replicated again without it, rehost-plan.ts planGiveBack) is given back: unregistered, unpinned,
// its file deleted, and its share of the budget freed.
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import type { ProviderView, ShardRow } from "@ripple-mesh/api-types";
import { writeJsonAtomic } from "../config/json-file.ts";
import type { StoragePolicy } from "../config/storage-policy.ts";
import type { ModelStore } from "../inference/model-store.ts";
import type { Logger } from "../log.ts";
import type { PeerInfo } from "../mesh/peer-view.ts";
import type { ModelShards } from "./model-shards.ts";
import {
  GIVE_BACK_AFTER_CHECKS,
  nextMissedChecks,
  nextSurplusChecks,
  planGiveBack,
  planRehosting,
  surplusPossible,
  whyNotRehostable,
  type GiveBackDecision,
  type RehostDecision,
} from "./rehost-plan.ts";

export type RehostPolicy = StoragePolicy["replication"]["rehost"];

const ledgerSchema = z.strictObject({
  schema: z.literal(1),
  models: z
    .array(z.strictObject({ name: z.string().min(1).max(64), sha256: z.string().regex(/^[0-9a-f]{64}$/), cid: z.string().min(1).max(128), size: z.number().int().min(0), atMs: z.number().min(0) }))
    .max(1024),
});
export type RehostedModel = z.infer<typeof ledgerSchema>["models"][number];

export interface ModelRehostingOptions {
  shards: Pick<ModelShards, "shards" | "pull" | "pinnedSha256">;
  /** A CID's providers, each checked for possession. */
  verifiedProviders: (cid: string) => Promise<ProviderView[]>;
  store: Pick<ModelStore, "has" | "get">;
  policy: RehostPolicy;
  /** This node's agent key. */
  self: string;
  peers: () => PeerInfo[];
  ledgerFile: string;
  /** Whether the storage policy wants the model here for this node's own use (never given back then). */
  wanted: (name: string) => boolean;
  /** Stop providing a rehosted model: unregister it, unpin it, delete the file its pull wrote. */
  giveBack: (model: RehostedModel) => Promise<unknown>;
  log: Logger;
}

/** One check's decisions: the under-replicated models, and the copies this node took on before. */
export interface RehostCheck {
  rehost: RehostDecision[];
  giveBack: GiveBackDecision[];
}

export interface RehostingView {
  enabled: boolean;
  budgetBytes: number;
  usedBytes: number;
  models: RehostedModel[];
  /** Under-replicated models this node pins and waits its turn for: its rank and the current turn. */
  waiting: Array<{ name: string; cid: string; rank: number; turn: number }>;
  /** Rehosted copies the mesh has enough without: given back after `of` checks in a row. */
  surplus: Array<{ name: string; cid: string; checks: number; of: number }>;
}

export class ModelRehosting {
  private missed = new Map<string, number>();
  private surplusChecks = new Map<string, number>();
  private waiting: RehostingView["waiting"] = [];
  private surplus: RehostingView["surplus"] = [];
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;
  private running: Promise<RehostCheck> | undefined;
  private stopped = false;
  private warnedLedger = false;

  constructor(private readonly opts: ModelRehostingOptions) {}

  /** Checks every check_interval_ms; with rehosting off, only while copies taken on before remain (they are still given back when surplus). */
  start(): void {
    if (!this.opts.policy.enabled && this.held().length === 0) return;
    const tick = () => void this.check().catch((err: Error) => this.opts.log.warn({ err: err.message }, "could not check which models need another provider; trying again at the next check"));
    this.timer = setInterval(tick, this.opts.policy.check_interval_ms);
    this.timer.unref();
    this.first = setTimeout(tick, 2000);
    this.first.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.first);
  }

  /** One check (a check still running is joined, not doubled): what was decided per under-replicated and per rehosted model. */
  check(): Promise<RehostCheck> {
    this.running ??= this.runCheck().finally(() => (this.running = undefined));
    return this.running;
  }

  describe(): RehostingView {
    const models = this.held();
    return {
      enabled: this.opts.policy.enabled,
      budgetBytes: this.budgetBytes,
      usedBytes: models.reduce((s, m) => s + m.size, 0),
      models,
      waiting: this.waiting,
      surplus: this.surplus,
    };
  }

  /** What this node pins and holds, as rehost-plan.ts asks. */
  private readonly here = {
    pinnedSha256: (name: string) => this.opts.shards.pinnedSha256(name),
    holds: (name: string) => this.opts.store.has(name),
  };

  private get budgetBytes(): number {
    return Math.floor(this.opts.policy.max_gb * 1e9);
  }

  private async runCheck(): Promise<RehostCheck> {
    const listed = await this.opts.shards.shards({ verify: false });
    // Off: nothing new is taken on, but what was taken on before still goes back once surplus.
    const rehost = this.opts.policy.enabled ? await this.rehostShort(await Promise.all(listed.map((r) => this.recounted(r)))) : [];
    const giveBack = await this.giveBackSurplus(listed);
    if (!this.opts.policy.enabled && this.held().length === 0) this.stop();
    return { rehost, giveBack };
  }

  /** Pulls the under-replicated models whose turn it is. */
  private async rehostShort(rows: ShardRow[]): Promise<RehostDecision[]> {
    const { shards, log } = this.opts;
    const held = this.held();
    const decisions = planRehosting({
      rows,
      self: this.opts.self,
      onlinePeers: this.opts.peers().filter((p) => p.online).map((p) => p.agent),
      ...this.here,
      budgetLeftBytes: this.budgetBytes - held.reduce((s, m) => s + m.size, 0),
      missedChecks: this.missed,
    });
    this.missed = nextMissedChecks(this.missed, decisions);
    this.waiting = decisions.flatMap((d) => (d.action === "wait" ? [{ name: d.row.name, cid: d.row.cid, rank: d.rank, turn: d.turn }] : []));
    for (const d of decisions) {
      if (this.stopped) break;
      if (d.action === "skip") log.debug({ model: d.row.name, cid: d.row.cid, reason: d.reason }, "not rehosting an under-replicated model");
      if (d.action !== "pull") continue;
      const { row } = d;
      log.info({ model: row.name, cid: row.cid, replicas: row.replicas, minProviders: row.minProviders, rank: d.rank, turn: d.turn }, "a model this node pins has too few providers; pulling it to provide it too (replication.rehost)");
      try {
        await shards.pull(row.name, { sha256: row.sha256 });
        this.record({ name: row.name, sha256: row.sha256, cid: row.cid, size: row.size, atMs: Date.now() });
      } catch (err) {
        log.warn({ model: row.name, cid: row.cid, err: (err as Error).message }, "could not rehost an under-replicated model; trying again at the next check");
      }
    }
    return decisions;
  }

  /** Gives back the rehosted copies the mesh has had enough without for GIVE_BACK_AFTER_CHECKS checks. */
  private async giveBackSurplus(rows: ShardRow[]): Promise<GiveBackDecision[]> {
    const models = this.held();
    const held = await Promise.all(
      models.map(async (m) => {
        const row = rows.find((r) => r.cid === m.cid);
        // Providers are checked (a block read each) only where the claims leave room for a surplus copy.
        const providers = row && surplusPossible(row) ? await this.opts.verifiedProviders(m.cid) : [];
        return { name: m.name, cid: m.cid, row, providers };
      }),
    );
    const decisions = planGiveBack({ held, self: this.opts.self, wanted: this.opts.wanted, surplusChecks: this.surplusChecks });
    this.surplusChecks = nextSurplusChecks(decisions);
    this.surplus = decisions.flatMap((d) => (d.action === "surplus" ? [{ name: d.name, cid: d.cid, checks: d.checks, of: GIVE_BACK_AFTER_CHECKS }] : []));
    for (const d of decisions) {
      if (this.stopped) break;
      if (d.action !== "give-back") continue;
      const model = models.find((m) => m.cid === d.cid)!;
      this.opts.log.info({ model: d.name, cid: d.cid, rank: d.rank, checks: GIVE_BACK_AFTER_CHECKS }, "a model this node rehosted has enough providers without it again; giving its copy back (replication.rehost)");
      try {
        await this.opts.giveBack(model);
        this.forget(model.name);
      } catch (err) {
        this.opts.log.warn({ model: d.name, cid: d.cid, err: (err as Error).message }, "could not give back a rehosted model; trying again at the next check");
      }
    }
    return decisions;
  }

  /**
   * The row with its replicas counted over providers that proved possession. Only for a model this
   * node could take on, and only where the claims alone reach the target (below it, checking cannot
   * add replicas): every check costs each provider a block read.
   */
  private async recounted(row: ShardRow): Promise<ShardRow> {
    if (row.local || row.underReplicated || whyNotRehostable(row, this.here) !== undefined) return row;
    const providers = await this.opts.verifiedProviders(row.cid);
    const replicas = providers.filter((p) => p.online && p.verified === true).length;
    return { ...row, providers, replicas, underReplicated: replicas < row.minProviders };
  }

  /** Rehosted models this node still holds (the same file under the same name). */
  private held(): RehostedModel[] {
    return this.readLedger().filter((m) => this.opts.store.has(m.name) && this.opts.store.get(m.name).sha256 === m.sha256);
  }

  private record(model: RehostedModel): void {
    writeJsonAtomic(this.opts.ledgerFile, { schema: 1, models: [...this.held().filter((m) => m.name !== model.name), model] });
  }

  private forget(name: string): void {
    writeJsonAtomic(this.opts.ledgerFile, { schema: 1, models: this.held().filter((m) => m.name !== name) });
  }

  private readLedger(): RehostedModel[] {
    if (!existsSync(this.opts.ledgerFile)) return [];
    try {
      const parsed = ledgerSchema.safeParse(JSON.parse(readFileSync(this.opts.ledgerFile, "utf8")));
      if (parsed.success) return parsed.data.models;
    } catch {
      // unreadable: counted as empty below
    }
    if (this.warnedLedger) return [];
    this.warnedLedger = true;
    this.opts.log.warn({ file: this.opts.ledgerFile }, "the record of rehosted models is unreadable; counting none against the budget (it is rewritten at the next rehost)");
    return [];
  }
}
