// GGUF models as IPFS content ("model shards"): publish a registered model (add it to kubo with the
// policy's fixed chunking and raw leaves, pin it, register an artifact of kind model with its
// sha256 and chunking, write the provider record, advertise the CID in the capability); pull one by
// name or CID from the peers that verifiably provide it (block by block from all of them at once,
// written in place: block-pull.ts; progress, resume after a kubo restart or a lost provider, sha256
// AND CID checked during the transfer, before anything is pinned, registered or added to the model
// store); and
// list models × providers with replica counts. A name resolves only to a pinned sha256 (or an
// explicit choice: model-choice.ts), and the declared size must fit on disk before any byte is
// fetched (disk-room.ts).
import { randomBytes } from "node:crypto";
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { ShardRow } from "@ripple-mesh/api-types";
import { RippleError } from "../errors.ts";
import type { ModelStore } from "../inference/model-store.ts";
import type { Logger } from "../log.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import { ArtifactNotFoundError, ArtifactVerificationError, type ArtifactService, type ArtifactView, type ProviderView } from "./artifact-service.ts";
import { BlockPull } from "./block-pull.ts";
import type { DirectTransfer } from "./direct-transfer-protocol.ts";
import { ModelCids } from "./model-cids.ts";
import type { IpfsStore } from "./ipfs-store.ts";
import { chunkBytesOf, chunkingFromMime, looksLikeCid, modelMime } from "./model-mime.ts";
import { FailedRegistrations } from "./failed-registrations.ts";
import { pulledEvent, pullFailedEvent, pullProgress, type ModelPullEvent } from "./model-pull-events.ts";
import type { KuboNode } from "./kubo-supervisor.ts";
import type { KuboPeering } from "./kubo-peering.ts";
import { modelChunking, type StoragePolicy } from "../config/storage-policy.ts";
import { DEFAULT_MAX_CLOCK_SKEW_MS, isFutureDated } from "../config/clock-skew.ts";
import { badPulledModelName, chooseModelRegistration, type ModelChoice, type ModelPins } from "./model-choice.ts";
import { assertDiskRoom, type FreeSpace } from "./disk-room.ts";

/** A pull could not complete; nothing was pinned, registered or added. */
export class ModelPullError extends RippleError {}

export type { ModelPullEvent };

export interface PullProgress {
  type: "pull:resolved" | "pull:progress" | "pull:resumed" | "pull:verifying" | "pull:done";
  [key: string]: unknown;
}

export interface PublishResult {
  name: string;
  cid: string;
  sha256: string;
  size: number;
  mime: string;
  addMs: number;
  announceMs: number;
  alreadyPublished: boolean;
}

export interface PullResult {
  name: string;
  cid: string;
  sha256: string;
  size: number;
  file: string;
  providers: ProviderView[];
  transferMs: number;
  verifyMs: number;
  resumed: number;
  /** Bytes read straight from providers' files (the rest came through kubo). */
  directBytes: number;
  alreadyPresent: boolean;
}

/** What a pull may be told beyond which registration: `viaKubo` skips direct transfers. */
export type PullOptions = ModelChoice & { viaKubo?: boolean; signal?: AbortSignal; onProgress?: (p: PullProgress) => void };

export type { ShardRow };

export interface ModelShardsOptions {
  ipfs: IpfsStore;
  kubo: KuboNode;
  peering: KuboPeering;
  artifacts: ArtifactService;
  store: ModelStore;
  policy: StoragePolicy;
  networkDir: string;
  log: Logger;
  /** Re-advertise the capability (its models now carry a CID). */
  onModelsChanged: () => Promise<void>;
  /** Counts the bytes pulls receive (GET /metrics). */
  metrics?: Pick<NodeMetrics, "modelBytesPulled">;
  /** sha256 pinned per model name beyond the storage policy's `want` and the local store (the inference policy's `models:`). */
  pins?: ModelPins;
  /** Registrations stamped further ahead of this node's clock are never the newest. */
  maxClockSkewMs?: number;
  /** Free disk space (tests pass their own). */
  freeSpace?: FreeSpace;
  /** Reads models straight from providers' files before asking kubo (direct-transfer-*.ts). */
  direct?: DirectTransfer;
  /** Announces each pull's outcome (model:pulled, model:pull-failed) on /v1/events and NATS. */
  emit?: (event: ModelPullEvent) => void;
}

export class ModelShards {
  private readonly cids: ModelCids;
  private readonly log: Logger;
  private readonly pulling = new Map<string, Promise<PullResult>>();
  /** Registrations (CID, sha256, size) whose content failed the checks here, oldest first (bounded). */
  private readonly failed = new FailedRegistrations();

  constructor(private readonly opts: ModelShardsOptions) {
    this.cids = new ModelCids(join(opts.networkDir, "model-cids.json"));
    this.log = opts.log.child({ seam: "model-shards" });
  }

  /** The file of a model this node published or pulled under `cid`, if it still holds that file. */
  localFile(cid: string): { file: string; size: number } | undefined {
    const name = this.cids.nameOf(cid);
    if (!name || !this.opts.store.has(name)) return undefined;
    const model = this.opts.store.get(name);
    if (model.sha256 !== this.cids.get(name)!.sha256) return undefined;
    return { file: model.file, size: statSync(model.file).size };
  }

  /** The CID of a local model with this sha256 (published or pulled here), if any. */
  cidOf(name: string, sha256: string | null): string | null {
    const e = this.cids.get(name);
    return e && (sha256 === null || e.sha256 === sha256) ? e.cid : null;
  }

  async publish(name: string, o: { signal?: AbortSignal; onProgress?: (p: { bytes: number; total: number }) => void } = {}): Promise<PublishResult> {
    const { store, ipfs, artifacts } = this.opts;
    const { model } = await store.verify(name);
    const chunking = modelChunking(this.opts.policy);
    const mime = modelMime(chunking);
    const t0 = performance.now();
    const cid = await ipfs.addFile(model.file, chunking, {
      pin: true,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: (bytes: number) => o.onProgress!({ bytes, total: model.bytes }) } : {}),
    });
    const addMs = performance.now() - t0;
    const t1 = performance.now();
    const mine = (await artifacts.list({ cid })).filter((a) => a.author === artifacts.agent && a.kind === "model" && a.sha256 === model.sha256 && a.name === name);
    if (mine.length === 0) {
      await artifacts.register({ cid, size: model.bytes, sha256: model.sha256, name, kind: "model", mime, model: null });
    } else {
      await artifacts.announce(cid);
    }
    this.cids.set(name, { cid, sha256: model.sha256 });
    await this.opts.onModelsChanged();
    const announceMs = performance.now() - t1;
    this.log.info({ model: name, cid, bytes: model.bytes, addMs: Math.round(addMs), announceMs: Math.round(announceMs) }, `published model "${name}"`);
    return { name, cid, sha256: model.sha256, size: model.bytes, mime, addMs: Math.round(addMs), announceMs: Math.round(announceMs), alreadyPublished: mine.length > 0 };
  }

  /** The sha256 pinned here for a model name: storage policy `want`, the inference policy, or the file this node holds under it. */
  pinnedSha256(name: string): string | undefined {
    for (const w of this.opts.policy.models.want) if (typeof w !== "string" && w.name === name) return w.sha256;
    const pinned = this.opts.pins?.(name);
    if (pinned) return pinned;
    return this.opts.store.has(name) ? this.opts.store.get(name).sha256 : undefined;
  }

  /**
   * Which artifact a pull reference means: a CID, or a model name resolved to its pinned sha256 (or
   * the choice made), the newest registration of that file not stamped ahead of this node's clock.
   */
  async resolve(ref: string, choice: ModelChoice = {}): Promise<ArtifactView> {
    const { artifacts } = this.opts;
    const byCid = looksLikeCid(ref);
    const found = (byCid ? await artifacts.list({ cid: ref }) : await artifacts.list({ name: ref })).filter((a) => a.kind === "model");
    const usable = found.filter((a) => chunkingFromMime(a.mime) !== null);
    if (usable.length === 0) {
      throw new ArtifactNotFoundError(
        found.length ? `the model artifacts registered for "${ref}" do not record how their CID was made (mime ${found[0]!.mime})` : `artifact_index has no model registered as "${ref}"`,
        "check the name or CID with `ripple shards`; a peer makes a model available with `ripple models publish <name>`",
      );
    }
    return chooseModelRegistration(ref, byCid, usable, choice, (name) => this.pinnedSha256(name), this.clock(), (a) => this.failed.has(a));
  }

  private clock() {
    return { nowMs: Date.now(), maxSkewMs: this.opts.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS };
  }

  /** One pull per CID at a time: a second request for the same content joins the first. */
  pull(ref: string, o: PullOptions = {}): Promise<PullResult> {
    const key = `${ref}\0${o.name ?? ""}\0${o.sha256 ?? ""}\0${o.anyPublisher ? 1 : 0}\0${o.viaKubo ? 1 : 0}`;
    const running = this.pulling.get(key);
    if (running) return running;
    const p = this.doPull(ref, o)
      .then(
        (r) => {
          if (!r.alreadyPresent) this.announce(pulledEvent(r));
          return r;
        },
        (err: Error) => {
          this.announce(pullFailedEvent(ref, o.name, err));
          throw err;
        },
      )
      .finally(() => this.pulling.delete(key));
    this.pulling.set(key, p);
    return p;
  }

  /** Best effort: a listener that throws must not turn a pull into a failure. */
  private announce(event: ModelPullEvent): void {
    try {
      this.opts.emit?.(event);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, event: event.type }, "could not announce a model pull");
    }
  }

  private async doPull(ref: string, o: PullOptions): Promise<PullResult> {
    const { store, ipfs, artifacts, kubo, peering, policy } = this.opts;
    const emit = o.onProgress ?? (() => {});
    const artifact = await this.resolve(ref, { ...(o.name ? { name: o.name } : {}), ...(o.sha256 ? { sha256: o.sha256 } : {}), ...(o.anyPublisher ? { anyPublisher: true } : {}) });
    const name = o.name ?? artifact.name;
    const { cid, sha256, size } = artifact;
    const badName = badPulledModelName(name, cid);
    if (badName) throw new ModelPullError(badName, "pull it under a name of your own: `ripple models pull <cid> --name <name>`");

    if (store.has(name)) {
      const have = store.get(name);
      if (have.sha256 !== sha256) {
        throw new ModelPullError(`a different model is already registered here as "${name}" (sha256 ${have.sha256}, the mesh's is ${sha256})`, `pull it under another name with --name, or \`ripple models rm ${name}\` first`);
      }
      // Already here: make sure it is pinned and announced, with the same CID.
      const pub = await this.publish(name);
      if (pub.cid !== cid) this.log.warn({ model: name, ours: pub.cid, theirs: cid }, "this node's copy has the same sha256 but another CID (other chunking)");
      return { name, cid: pub.cid, sha256, size, file: have.file, providers: [], transferMs: 0, verifyMs: 0, resumed: 0, directBytes: 0, alreadyPresent: true };
    }
    const target = join(store.modelsDir, `${name}.gguf`);
    if (existsSync(target)) throw new ModelPullError(`${target} already exists`, `move it aside, or pull under another name with --name`);
    // The declared size must fit (file + kubo's pinned blocks) before anything is asked of a provider.
    assertDiskRoom(`the registration of ${name} (${cid})`, size, [store.modelsDir, ...(kubo.repoDir ? [kubo.repoDir] : [])], this.opts.freeSpace);

    // Providers: only those that prove they hold the content; peer our kubo with theirs.
    const providers = await artifacts.providers(cid, { verify: true, ...(o.signal ? { signal: o.signal } : {}) });
    const trusted = providers.filter((p) => p.verified && !p.self && p.peerId);
    emit({ type: "pull:resolved", name, cid, sha256, size, providers: providers.map((p) => ({ name: p.name, agent: p.agent, verified: p.verified, reason: p.reason })) });
    if (trusted.length === 0) {
      const why = providers.length ? providers.map((p) => `${p.name ?? p.agent.slice(0, 12)}: ${p.reason ?? "ok"}`).join("; ") : "no provider records";
      throw new ModelPullError(`no online peer verifiably provides ${name} (${cid}): ${why}`, "start a node that serves it and run `ripple models publish <name>` there, then retry");
    }
    await Promise.all(trusted.map((p) => peering.hello(p.peerId!)));
    const direct = o.viaKubo ? [] : (await this.opts.direct?.sources(trusted.map((p) => ({ peerId: p.peerId!, name: p.name ?? p.agent.slice(0, 12) })), cid, size, o.signal)) ?? [];

    const partial = `${target}.${randomBytes(4).toString("hex")}.partial`;
    const t0 = performance.now();
    let resumed = 0;
    let verifyMs = 0;
    let prefetchPinned = false;
    const pinnedBefore = await ipfs.isPinned(cid, { timeoutMs: 5000 }).catch(() => false);
    try {
      const file = await open(partial, "wx", 0o644);
      const pull = new BlockPull({
        ipfs,
        cid,
        maxBytes: size,
        ...chunkBytesOf(artifact.mime),
        file,
        blockTimeoutMs: policy.models.stall_timeout_ms,
        direct,
        directConnections: this.opts.direct?.connectionsPerProvider ?? 2,
        onDirectFailure: (source, err) => this.log.warn({ model: name, cid, source, err: err.message }, "a direct transfer from a provider failed; going on without it"),
        // kubo fetches the whole DAG in one bitswap session beside our reads (measured faster with two
        // providers than per-block sessions alone: node/bench/artifacts-bench.ts). Its pin is dropped
        // again below if the content fails the checks.
        prefetch: (signal) => {
          prefetchPinned = true;
          return ipfs.pin(cid, { timeoutMs: 60 * 60_000, ...(signal ? { signal } : {}) });
        },
        onBytes: pullProgress({ name, cid, size, startedAt: t0, stream: emit, announce: (e) => this.announce(e), ...(this.opts.metrics ? { metrics: this.opts.metrics } : {}) }),
      });
      try {
        for (let attempt = 0; ; attempt++) {
          try {
            await pull.run(o.signal);
            break;
          } catch (err) {
            if (o.signal?.aborted || err instanceof ArtifactVerificationError) throw err;
            if (!kubo.supervised || attempt >= 8) {
              throw new ModelPullError(`the transfer of ${name} stopped at ${pull.written} of ${size} bytes: ${(err as Error).message}`, "retry `ripple models pull`; blocks already fetched are reused");
            }
            // kubo restarted, or a provider went away: the blocks already written stay; only the missing ones are asked again.
            this.log.warn({ model: name, cid, written: pull.written, err: (err as Error).message }, "model transfer interrupted; resuming with the missing blocks");
            await kubo.whenUp(policy.models.stall_timeout_ms, o.signal).catch((e: Error) => {
              throw new ModelPullError(`the transfer of ${name} stopped at ${pull.written} of ${size} bytes and kubo did not come back: ${e.message}`, "see DATA_DIR/<network>/logs/kubo.log, then retry");
            });
            await new Promise((r) => setTimeout(r, 500));
            await Promise.all(trusted.map((p) => peering.hello(p.peerId!, true)));
            resumed++;
            emit({ type: "pull:resumed", offset: pull.written, total: size, attempt: attempt + 1 });
          }
        }
        await file.sync();
      } finally {
        await file.close();
      }
      const transferMs = performance.now() - t0;
      emit({ type: "pull:verifying", bytes: pull.written, total: size });
      // Every block was checked against its CID on arrival (from the root CID down), and the sha256
      // was computed over the leaves in order as they landed: what is left is comparing.
      const t1 = performance.now();
      const got = pull.result() ?? { bytes: pull.written, sha256: "(incomplete)" };
      if (got.bytes !== size || got.sha256 !== sha256) {
        throw new ArtifactVerificationError(
          `${cid} gave ${got.bytes} bytes with sha256 ${got.sha256}, but ${name} is registered with ${size} bytes and sha256 ${sha256}${got.bytes < size ? " (truncated)" : ""}`,
          "the registration or the content is wrong: nothing was pinned or registered; ask its publisher to publish it again",
        );
      }
      verifyMs = performance.now() - t1;
      renameSync(partial, target);
      let added;
      try {
        added = await store.add(target, { name, sha256 });
      } catch (err) {
        rmSync(target, { force: true });
        throw err;
      }
      await this.pinPulled(target, artifact.mime, cid, pull.directBytes > 0);
      // A record this node wrote before is from a copy it gave back: this copy is new.
      await artifacts.announce(cid, { renew: !pinnedBefore });
      this.cids.set(name, { cid, sha256 });
      await this.opts.onModelsChanged();
      const result: PullResult = { name, cid, sha256, size, file: added.file, providers, transferMs: Math.round(transferMs), verifyMs: Math.round(verifyMs), resumed, directBytes: pull.directBytes, alreadyPresent: false };
      this.log.info({ model: name, cid, bytes: size, transferMs: result.transferMs, verifyMs: result.verifyMs, resumed, from: trusted.map((p) => p.name), directBytes: pull.directBytes, planMs: pull.planMs }, `pulled model "${name}"`);
      emit({ type: "pull:done", name, cid, bytes: size });
      return result;
    } catch (err) {
      rmSync(partial, { force: true });
      if (prefetchPinned && !pinnedBefore) await ipfs.unpin(cid).catch(() => undefined); // nothing stays pinned by a failed pull
      // Whatever was fetched is unpinned: drop it now rather than at the next cache eviction.
      if (err instanceof ArtifactVerificationError) {
        this.failed.noteFailure(artifact, err);
        this.log.warn({ model: name, cid, err: (err as Error).message }, "rejected a model transfer; nothing pinned or registered");
        await ipfs.gc().catch(() => undefined);
      }
      throw err;
    }
  }

  /**
   * Pin the pulled content in our kubo so that we provide it too. Blocks that came straight from
   * providers' files are not in kubo: the file is added with the registration's chunking (which
   * recomputes its CID; a different CID means other chunking, and kubo then fetches the blocks).
   */
  private async pinPulled(file: string, mime: string, cid: string, cameDirect: boolean): Promise<void> {
    const { ipfs } = this.opts;
    const chunking = chunkingFromMime(mime);
    if (cameDirect && chunking) {
      // Pinned by the add itself: a gc between an unpinned add and the pin would drop the blocks.
      const added = await ipfs.addFile(file, chunking, { pin: true });
      if (added !== cid) {
        this.log.warn({ cid, added }, "the pulled file added to kubo gives another CID; kubo fetches the registered one instead");
        await ipfs.unpin(added).catch(() => undefined);
      }
    }
    await ipfs.pin(cid);
  }

  /** Models × providers, from artifact_index (kind model), with replica counts against the policy. */
  async shards(o: { verify: boolean; signal?: AbortSignal }): Promise<ShardRow[]> {
    const { artifacts, policy, ipfs } = this.opts;
    const models = await artifacts.list({ kind: "model" });
    const byCid = new Map<string, ArtifactView[]>();
    // A registration stamped ahead of this node's clock never names the row while an honest one exists.
    const clock = this.clock();
    const ordered = [...models.filter((a) => !isFutureDated(a.registeredAtMs, clock)), ...models.filter((a) => isFutureDated(a.registeredAtMs, clock))];
    for (const a of ordered) byCid.set(a.cid, [...(byCid.get(a.cid) ?? []), a]);
    const rows = await Promise.all(
      [...byCid.entries()].map(async ([cid, regs]) => {
        const newest = regs[0]!;
        const providers = await artifacts.providers(cid, { verify: o.verify, ...(o.signal ? { signal: o.signal } : {}) });
        const replicas = providers.filter((p) => p.online && (o.verify ? p.verified === true : true)).length;
        const local = await ipfs.isPinned(cid, { timeoutMs: 5000 }).catch(() => false);
        return {
          name: newest.name,
          cid,
          sha256: newest.sha256,
          size: newest.size,
          publishedBy: [...new Set(regs.map((r) => r.author))],
          providers,
          replicas,
          minProviders: policy.replication.min_providers,
          underReplicated: replicas < policy.replication.min_providers,
          local,
        };
      }),
    );
    return rows.sort((a, b) => a.name.localeCompare(b.name) || a.cid.localeCompare(b.cid));
  }
}
