// Artifacts of one joined mesh: bytes in this node's kubo, indexed in artifact_index with their
// provenance. Writing an artifact adds and pins it, registers it (CID, name, kind, size, sha256,
// mime, provenance: job, model, agent, parent CIDs) and writes this node's provider record.
// Reading one by CID checks its bytes against the registered sha256 and keeps them in the LRU
// cache. Provider records are shown with whether they were verified (provider-check.ts).
import { createHash } from "node:crypto";
import { join } from "node:path";
import { decodeHashFromBase64, encodeHashToBase64 } from "@holochain/client";
import type { ProviderView } from "@ripple-mesh/api-types";
import { artifactIndex, type Artifact, type ZomeCaller } from "@ripple-mesh/zome-bindings";
import { RippleError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { PeerInfo } from "../mesh/peer-view.ts";
import type { P2pNode } from "../p2p/p2p-node.ts";
import { CacheLedger, lruEvictions } from "./cache-ledger.ts";
import type { IpfsStore } from "./ipfs-store.ts";
import { verifyProvider, type ProviderVerdict } from "./provider-check.ts";
import type { StoragePolicy } from "../config/storage-policy.ts";

export type ArtifactKind = Artifact["kind"];

/** An artifact as the API shows it (hashes in base64). */
export interface ArtifactView {
  cid: string;
  name: string;
  kind: ArtifactKind;
  size: number;
  sha256: string;
  mime: string;
  provenance: { job: string | null; model: string | null; agent: string; parent_cids: string[] };
  author: string;
  registeredAtMs: number;
  actionHash: string;
}

export type { ProviderView };

export interface PutMeta {
  name: string;
  kind: ArtifactKind;
  mime: string;
  job?: string | null;
  model?: string | null;
  parents?: string[];
}

/** The content behind a CID does not match what artifact_index says about it. */
export class ArtifactVerificationError extends RippleError {}
/** Bytes that do not hash to the CID asked for: the source was wrong (a corrupt store, a lying peer), not the CID's content. */
export class BlockHashMismatchError extends ArtifactVerificationError {}
/** artifact_index knows nothing that matches. */
export class ArtifactNotFoundError extends RippleError {}

export interface ArtifactServiceOptions {
  ipfs: IpfsStore;
  /** Zome calls whose writes are serialised (serial-writes.ts). */
  zomes: ZomeCaller;
  agentPubKey: Uint8Array;
  p2p: P2pNode;
  peers: () => PeerInfo[];
  policy: StoragePolicy;
  /** DATA_DIR/<network> */
  networkDir: string;
  log: Logger;
}

export function toView(found: { action_hash: Uint8Array; author: Uint8Array; timestamp: number; entry: Artifact }): ArtifactView {
  const a = found.entry;
  return {
    cid: a.cid,
    name: a.name,
    kind: a.kind,
    size: a.size,
    sha256: a.sha256,
    mime: a.mime,
    provenance: {
      job: a.provenance.job ? encodeHashToBase64(a.provenance.job) : null,
      model: a.provenance.model,
      agent: encodeHashToBase64(a.provenance.agent),
      parent_cids: a.provenance.parent_cids,
    },
    author: encodeHashToBase64(found.author),
    registeredAtMs: Math.floor(found.timestamp / 1000),
    actionHash: encodeHashToBase64(found.action_hash),
  };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export class ArtifactService {
  readonly cache: CacheLedger;
  private readonly log: Logger;

  constructor(private readonly opts: ArtifactServiceOptions) {
    this.cache = new CacheLedger(join(opts.networkDir, "ipfs-cache.json"));
    this.log = opts.log.child({ seam: "artifacts" });
  }

  get index() {
    return artifactIndex(this.opts.zomes);
  }

  get agent(): string {
    return encodeHashToBase64(this.opts.agentPubKey);
  }

  /** Add bytes to IPFS (pinned), register the artifact with its provenance, announce this node as provider. */
  async put(bytes: Uint8Array, meta: PutMeta, o: { signal?: AbortSignal } = {}): Promise<ArtifactView> {
    const { cid } = await this.opts.ipfs.addBytes(bytes, { pin: true, ...(o.signal ? { signal: o.signal } : {}) });
    return this.register({ cid, size: bytes.length, sha256: sha256Hex(bytes), ...meta });
  }

  /** Register content already pinned here (and write the provider record). */
  async register(a: { cid: string; size: number; sha256: string } & PutMeta): Promise<ArtifactView> {
    const artifact: Artifact = {
      cid: a.cid,
      name: a.name.slice(0, 256) || a.cid,
      kind: a.kind,
      size: a.size,
      sha256: a.sha256,
      mime: a.mime.slice(0, 128),
      provenance: {
        job: a.job ? decodeHashFromBase64(a.job) : null,
        model: a.model ?? null,
        agent: this.opts.agentPubKey,
        parent_cids: (a.parents ?? []).slice(0, 32),
      },
    };
    const hash = await this.index.registerArtifact(artifact);
    await this.announce(a.cid);
    this.log.info({ cid: a.cid, name: artifact.name, kind: a.kind, bytes: a.size, job: a.job ?? null }, "artifact registered");
    return toView({ action_hash: hash, author: this.opts.agentPubKey, timestamp: Date.now() * 1000, entry: artifact });
  }

  /**
   * Write this node's provider record for `cid` (it must be pinned here). With `renew`, a new record
   * is written even when this node has one: after a pull, an existing record is from an earlier pin
   * that was given back, and the give-back order (rehost-plan.ts providerOrder) reads each provider's
   * newest record as when its copy arrived.
   */
  async announce(cid: string, o: { renew?: boolean } = {}): Promise<void> {
    const mine = await this.index.providers(cid).catch(() => []);
    if (!o.renew && mine.some((p) => encodeHashToBase64(p.author) === this.agent)) return;
    await this.index.addProvider(cid);
  }

  /**
   * Test-only (RIPPLE_TEST_ARTIFACTS=1): a provider record for a CID this node does NOT pin — what
   * a lying peer would write, for the check that such records are not trusted.
   */
  async writeFalseProviderRecord(cid: string): Promise<void> {
    await this.index.addProvider(cid);
  }

  async list(q: { cid?: string; name?: string; kind?: ArtifactKind; job?: string }): Promise<ArtifactView[]> {
    const idx = this.index;
    const found = q.cid
      ? await idx.byCid(q.cid)
      : q.name
        ? await idx.byName(q.name)
        : q.job
          ? await idx.byJob(decodeHashFromBase64(q.job))
          : await idx.byKind(q.kind ?? "output");
    return found
      .map(toView)
      .filter((a) => (!q.kind || a.kind === q.kind) && (!q.name || a.name === q.name) && (!q.cid || a.cid === q.cid))
      .sort((a, b) => b.registeredAtMs - a.registeredAtMs);
  }

  /**
   * The bytes of `cid` (from this node's kubo, fetching from peers when needed), checked against
   * the sha256 artifact_index records for it. Content not pinned here is kept in the LRU cache.
   */
  async read(cid: string, o: { maxBytes: number; signal?: AbortSignal }): Promise<{ bytes: Buffer; sha256: string; artifact: ArtifactView | null }> {
    const artifacts = await this.list({ cid });
    const bytes = await this.opts.ipfs.readAll(cid, { maxBytes: o.maxBytes, timeoutMs: 30_000, ...(o.signal ? { signal: o.signal } : {}) });
    const sha256 = sha256Hex(bytes);
    const artifact = artifacts[0] ?? null;
    if (artifact && (artifact.sha256 !== sha256 || artifact.size !== bytes.length)) {
      throw new ArtifactVerificationError(
        `${cid} holds ${bytes.length} bytes with sha256 ${sha256}, but artifact_index registers ${artifact.size} bytes with sha256 ${artifact.sha256} (by ${artifact.author})`,
        "do not trust that registration; the agent that wrote it registered content it did not produce",
      );
    }
    await this.keepInCache(cid, bytes.length);
    return { bytes, sha256, artifact };
  }

  /** Providers of `cid` per artifact_index, with their liveness and (when asked) a possession check. */
  async providers(cid: string, o: { verify: boolean; signal?: AbortSignal }): Promise<ProviderView[]> {
    const records = await this.index.providers(cid);
    const peers = new Map(this.opts.peers().map((p) => [p.agent, p]));
    return Promise.all(
      records.map(async (r) => {
        const agent = encodeHashToBase64(r.author);
        const peer = peers.get(agent);
        const self = agent === this.agent;
        const base = { agent, name: peer?.name ?? null, peerId: peer?.peerId ?? null, online: self || Boolean(peer?.online), self, sinceMs: Math.floor(r.timestamp / 1000) };
        if (!o.verify) return { ...base, verified: null, reason: null };
        const verdict = await this.verify(cid, self, peer, o.signal);
        return { ...base, verified: verdict.verified, reason: verdict.verified ? null : verdict.reason };
      }),
    );
  }

  private async verify(cid: string, self: boolean, peer: PeerInfo | undefined, signal?: AbortSignal): Promise<ProviderVerdict> {
    if (self) {
      const pinned = await this.opts.ipfs.isPinned(cid).catch(() => false);
      return pinned ? { verified: true, block: cid, ms: 0 } : { verified: false, reason: "this node does not pin it", ms: 0 };
    }
    if (!peer) return { verified: false, reason: "the agent is not in this node's view of the mesh", ms: 0 };
    if (!peer.online) return { verified: false, reason: `the agent is offline (${peer.reason})`, ms: 0 };
    const verdict = await verifyProvider(this.opts.p2p, this.opts.ipfs, peer.peerId, cid, { timeoutMs: 15_000, ...(signal ? { signal } : {}) });
    if (!verdict.verified) this.log.warn({ cid, agent: peer.agent, peer: peer.name, reason: verdict.reason }, "provider record not trusted");
    return verdict;
  }

  /** Content read but not served by this node: pinned as cache, least recently used evicted past the policy's size. */
  private async keepInCache(cid: string, bytes: number): Promise<void> {
    const { ipfs } = this.opts;
    if (!this.cache.has(cid) && (await ipfs.isPinned(cid).catch(() => false))) return; // served content: not cache
    await ipfs.pin(cid).catch((err: Error) => this.log.debug({ cid, err: err.message }, "could not pin a cache entry"));
    this.cache.touch(cid, bytes);
    const max = this.opts.policy.cache.max_size_gb * 1e9;
    const evict = lruEvictions(this.cache.list(), max);
    if (evict.length === 0) return;
    for (const e of evict) await ipfs.unpin(e.cid).catch(() => undefined);
    this.cache.remove(evict.map((e) => e.cid));
    const removed = await ipfs.gc().catch(() => 0);
    this.log.info({ evicted: evict.length, bytes: evict.reduce((s, e) => s + e.bytes, 0), blocksRemoved: removed }, "evicted least recently used cache entries");
  }
}
