// The kubo seam's RPC half: every IPFS operation the daemon performs, through `kubo-rpc-client`,
// each with a time limit and the caller's AbortSignal. The client follows the kubo node's current
// API URL (a restarted kubo keeps its port, but an external one may move). Commands the client
// does not wrap (swarm peering) are plain RPC POSTs.
import { createReadStream } from "node:fs";
import { create, CID, type KuboRPCClient } from "kubo-rpc-client";
import { RippleError, TimeoutError } from "../errors.ts";
import type { ChunkingParams } from "../config/storage-policy.ts";
import { linkSignals } from "../linked-signal.ts";
import { readBodyText } from "../http-body.ts";

const KUBO_RPC_MAX_RESPONSE_BYTES = 1024 * 1024;

export { CID };

/** A kubo RPC call failed (kubo down, refused, or the content is not there). */
export class IpfsError extends RippleError {}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the store's default time limit for this call. */
  timeoutMs?: number;
}

/** Codec of raw blocks (a file's leaves with raw-leaves, and whole small files). */
export const RAW_CODEC = 0x55;
/** Codec of dag-pb nodes (UnixFS). */
export const DAG_PB_CODEC = 0x70;

export interface IpfsStoreOptions {
  /** The RPC API base URL as of now (KuboNode.endpoints.apiUrl). */
  apiUrl: () => string;
  /** Default per-call time limit (default 30 s); streams use it as their idle limit. */
  timeoutMs?: number;
}

export class IpfsStore {
  private clientFor: { url: string; client: KuboRPCClient } | undefined;
  readonly timeoutMs: number;

  constructor(private readonly opts: IpfsStoreOptions) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  get apiUrl(): string {
    return this.opts.apiUrl();
  }

  private get client(): KuboRPCClient {
    const url = this.opts.apiUrl();
    if (this.clientFor?.url !== url) this.clientFor = { url, client: create({ url, timeout: this.timeoutMs * 20 }) };
    return this.clientFor.client;
  }

  private async call<T>(what: string, o: CallOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const link = linkSignals(o.signal, AbortSignal.timeout(o.timeoutMs ?? this.timeoutMs));
    try {
      return await fn(link.signal);
    } catch (err) {
      throw this.wrap(err, what, o, link.signal);
    } finally {
      link.dispose();
    }
  }

  private wrap(err: unknown, what: string, o: CallOptions, signal?: AbortSignal): Error {
    if (o.signal?.aborted) return o.signal.reason instanceof Error ? o.signal.reason : new Error(String(o.signal.reason));
    if (err instanceof IpfsError || err instanceof TimeoutError) return err;
    if (signal?.aborted || (err as Error).name === "TimeoutError") {
      return new TimeoutError(`kubo did not finish ${what} within ${o.timeoutMs ?? this.timeoutMs} ms`, "check that kubo runs (`ripple status`) and that a peer holding the content is connected", { cause: err });
    }
    return new IpfsError(`kubo failed ${what}: ${(err as Error).message}`, "check that kubo runs (`ripple status`) and see DATA_DIR/<network>/logs/kubo.log", { cause: err });
  }

  /** kubo's peer id and the swarm addresses it listens on (each with /p2p/<id>). */
  async id(o: CallOptions = {}): Promise<{ peerId: string; addrs: string[]; agentVersion: string }> {
    return this.call("id", o, async (signal) => {
      const r = await this.client.id({ signal });
      const peerId = r.id.toString();
      const addrs = r.addresses.map((a) => a.toString()).map((a) => (a.includes("/p2p/") ? a : `${a}/p2p/${peerId}`));
      return { peerId, addrs, agentVersion: r.agentVersion };
    });
  }

  /** Add bytes (small artifacts: outputs, prompts). Pinned unless pin is false. */
  async addBytes(bytes: Uint8Array, o: CallOptions & { pin?: boolean } = {}): Promise<{ cid: string; size: number }> {
    return this.call("add", o, async (signal) => {
      const r = await this.client.add(bytes, { signal, pin: o.pin ?? true, cidVersion: 1, rawLeaves: true });
      return { cid: r.cid.toString(), size: bytes.length };
    });
  }

  /** Add a file with fixed chunking (models); onlyHash computes the CID without storing anything. */
  async addFile(
    path: string,
    chunking: ChunkingParams,
    o: CallOptions & { pin?: boolean; onlyHash?: boolean; onProgress?: (bytes: number) => void } = {},
  ): Promise<string> {
    return this.call(o.onlyHash ? "hashing a file" : "add of a file", { ...o, timeoutMs: o.timeoutMs ?? 30 * 60_000 }, async (signal) => {
      const r = await this.client.add(
        { path: "model.gguf", content: createReadStream(path, { highWaterMark: 1024 * 1024 }) },
        {
          signal,
          pin: o.pin ?? true,
          onlyHash: o.onlyHash ?? false,
          chunker: chunking.chunker,
          rawLeaves: chunking.rawLeaves,
          cidVersion: chunking.cidVersion,
          ...(o.onProgress ? { progress: (bytes: number) => o.onProgress!(bytes) } : {}),
        },
      );
      return r.cid.toString();
    });
  }

  /**
   * The content of `cid` from `offset`, as kubo streams it (fetching missing blocks from connected
   * peers). The time limit applies to each silence between chunks, not to the whole stream.
   */
  async *cat(cid: string, o: CallOptions & { offset?: number; length?: number; offline?: boolean } = {}): AsyncGenerator<Uint8Array, void, undefined> {
    const idle = new AbortController();
    const limit = o.timeoutMs ?? this.timeoutMs;
    let timer = setTimeout(() => idle.abort(new Error("idle")), limit);
    const link = linkSignals(o.signal, idle.signal);
    try {
      const it = this.client.cat(cid, {
        signal: link.signal,
        ...(o.offset ? { offset: o.offset } : {}),
        ...(o.length !== undefined ? { length: o.length } : {}),
        ...(o.offline ? { searchParams: new URLSearchParams({ offline: "true" }) } : {}),
      });
      for await (const chunk of it) {
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(new Error("idle")), limit);
        yield chunk;
      }
    } catch (err) {
      if (idle.signal.aborted && !o.signal?.aborted) {
        throw new TimeoutError(`kubo sent nothing of ${cid} for ${limit} ms`, "check that a peer providing it is online and connected (`ripple shards`)", { cause: err });
      }
      throw this.wrap(err, `reading ${cid}`, o);
    } finally {
      clearTimeout(timer);
      link.dispose();
    }
  }

  /** All of `cid` (refuses content above maxBytes). */
  async readAll(cid: string, o: CallOptions & { maxBytes: number; offline?: boolean }): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const c of this.cat(cid, o)) {
      size += c.length;
      if (size > o.maxBytes) throw new IpfsError(`${cid} is larger than ${o.maxBytes} bytes`, "read it in parts, or raise the limit");
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  async pin(cid: string, o: CallOptions = {}): Promise<void> {
    await this.call(`pin of ${cid}`, { ...o, timeoutMs: o.timeoutMs ?? 10 * 60_000 }, (signal) => this.client.pin.add(CID.parse(cid), { signal }));
  }

  async unpin(cid: string, o: CallOptions = {}): Promise<void> {
    await this.call(`unpin of ${cid}`, o, (signal) => this.client.pin.rm(CID.parse(cid), { signal }));
  }

  /** Whether `cid` is pinned recursively (directly pinned as a whole) on this kubo. */
  async isPinned(cid: string, o: CallOptions = {}): Promise<boolean> {
    try {
      return await this.call(`pin ls of ${cid}`, o, async (signal) => {
        for await (const p of this.client.pin.ls({ paths: [CID.parse(cid)], type: "recursive", signal })) {
          if (p.cid.toString() === CID.parse(cid).toString()) return true;
        }
        return false;
      });
    } catch (err) {
      if (/not pinned/i.test(String((err as Error).message) + String(((err as Error).cause as Error)?.message ?? ""))) return false;
      throw err;
    }
  }

  /** One raw block; with offline, only when this kubo already holds it. */
  async blockGet(cid: string, o: CallOptions & { offline?: boolean } = {}): Promise<Uint8Array> {
    return this.call(`block get of ${cid}`, o, (signal) =>
      this.client.block.get(CID.parse(cid), { signal, ...(o.offline ? { searchParams: new URLSearchParams({ offline: "true" }) } : {}) }),
    );
  }

  /** The CIDs a dag-pb node links to (fetches only that node). */
  async links(cid: string, o: CallOptions = {}): Promise<string[]> {
    return this.call(`dag get of ${cid}`, o, async (signal) => {
      const r = await this.client.dag.get(CID.parse(cid), { signal });
      const node = r.value as { Links?: Array<{ Hash: CID }> };
      return (node.Links ?? []).map((l) => l.Hash.toString());
    });
  }

  /** Keep a connection to this peer (kubo redials it with backoff), and connect now. */
  async peer(addr: string, o: CallOptions = {}): Promise<void> {
    await this.rpc("swarm/peering/add", [addr], o);
    await this.rpc("swarm/connect", [addr], o).catch(() => undefined); // peering keeps trying
  }

  /** Stop keeping a connection to this kubo peer (by its peer id). */
  async unpeer(peerId: string, o: CallOptions = {}): Promise<void> {
    await this.rpc("swarm/peering/rm", [peerId], o);
  }

  /** Peer ids kubo is connected to now. */
  async connectedPeers(o: CallOptions = {}): Promise<string[]> {
    return this.call("swarm peers", o, async (signal) => (await this.client.swarm.peers({ signal })).map((p) => p.peer.toString()));
  }

  async repoStat(o: CallOptions = {}): Promise<{ repoSize: number; storageMax: number; numObjects: number }> {
    return this.call("repo stat", o, async (signal) => {
      const r = await this.client.repo.stat({ signal });
      return { repoSize: Number(r.repoSize), storageMax: Number(r.storageMax), numObjects: Number(r.numObjects) };
    });
  }

  /** Remove every block that no pin holds. */
  async gc(o: CallOptions = {}): Promise<number> {
    return this.call("repo gc", { ...o, timeoutMs: o.timeoutMs ?? 5 * 60_000 }, async (signal) => {
      let n = 0;
      for await (const r of this.client.repo.gc({ signal })) if (!(r as { err?: unknown }).err) n++;
      return n;
    });
  }

  /** A plain RPC POST for commands kubo-rpc-client does not wrap. */
  private async rpc(command: string, args: string[], o: CallOptions): Promise<unknown> {
    return this.call(command, o, async (signal) => {
      const qs = args.map((a) => `arg=${encodeURIComponent(a)}`).join("&");
      const res = await fetch(`${this.apiUrl}/api/v0/${command}${qs ? `?${qs}` : ""}`, { method: "POST", signal });
      // kubo's answers to these commands are a few hundred bytes; a limit all the same.
      const text = await readBodyText(res, KUBO_RPC_MAX_RESPONSE_BYTES);
      if (!res.ok) throw new Error(`${command}: HTTP ${res.status} ${text.slice(0, 300)}`);
      return text ? JSON.parse(text) : null;
    });
  }
}
