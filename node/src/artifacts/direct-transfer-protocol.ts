// Tickets for direct model transfers, over the libp2p protocol `/ripple-mesh/model-direct/1.0.0`
// (bound peers only): {cid} → {port, identity, key, size}. The asker then opens TLS-PSK connections
// to the provider's direct transfer server at the address its libp2p connection comes from
// (direct-transfer-server.ts / -client.ts). A provider answers only for a CID whose file it holds
// as a model it published or pulled; an asker uses a ticket only when the size matches the
// registration. Either side may run without it: the pull then goes through kubo alone.
import { z } from "zod";
import type { Logger } from "../log.ts";
import type { P2pNode } from "../p2p/p2p-node.ts";
import { JsonRefusal } from "../p2p/json-stream.ts";
import type { DirectSource } from "./block-pull.ts";
import { DirectConnection } from "./direct-transfer-client.ts";
import { DirectTransferServer } from "./direct-transfer-server.ts";

export const directProtocol = "/ripple-mesh/model-direct/1.0.0";
const MAX_BYTES = 4096;
const TICKET_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 10_000;

const requestSchema = z.strictObject({ cid: z.string().min(8).max(128).regex(/^[A-Za-z0-9]+$/, "a CID") });
const ticketSchema = z.strictObject({
  port: z.number().int().min(1).max(65535),
  identity: z.string().regex(/^[0-9a-f]{24}$/),
  key: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "32 bytes, base64"),
  size: z.number().int().min(0),
});

export interface DirectTransferOptions {
  p2p: P2pNode;
  /** The file this node serves for a CID, if it holds one. */
  fileOf: (cid: string) => { file: string; size: number } | undefined;
  host: string;
  port: number;
  connectionsPerProvider: number;
  stallTimeoutMs: number;
  log: Logger;
}

export class DirectTransfer {
  private server: DirectTransferServer | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: DirectTransferOptions) {
    this.log = opts.log.child({ seam: "direct-transfer" });
  }

  get connectionsPerProvider(): number {
    return this.opts.connectionsPerProvider;
  }

  /** Where this node serves direct transfers (null: it does not) and what it has sent. */
  describe(): { port: number | null; bytesServed: number } {
    return { port: this.server ? this.server.port : null, bytesServed: this.server?.bytesSent ?? 0 };
  }

  /** Listen and answer tickets (pulls use `sources()` whether or not this node serves). */
  async start(): Promise<void> {
    const server = new DirectTransferServer({ host: this.opts.host, port: this.opts.port, idleTimeoutMs: this.opts.stallTimeoutMs, log: this.opts.log });
    try {
      await server.start();
    } catch (err) {
      // Peers then pull what we provide through kubo: slower, not broken.
      this.log.warn({ host: this.opts.host, port: this.opts.port, err: (err as Error).message, fix: "set models.direct_transfer.port in the storage policy to a free port (0: any)" }, "the direct model transfer server could not listen; serving models through kubo only");
      return;
    }
    this.server = server;
    await this.opts.p2p.handleJson(directProtocol, async (raw, from) => this.ticketFor(raw, from.peerId), { maxBytes: MAX_BYTES });
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
  }

  private ticketFor(raw: unknown, peerId: string): z.infer<typeof ticketSchema> {
    const { cid } = requestSchema.parse(raw);
    const held = this.opts.fileOf(cid);
    if (!held || !this.server) throw new JsonRefusal("refused", `this node serves no file for ${cid}`);
    const t = this.server.issue(held.file, held.size, peerId);
    if (!t) throw new JsonRefusal("busy", "too many direct transfer tickets are alive (in all, or held by this peer); retry in a minute");
    this.log.debug({ peer: peerId, cid }, "issued a direct transfer ticket");
    return { port: this.server.port, identity: t.identity, key: t.key.toString("base64"), size: t.size };
  }

  /** A direct source per provider that hands out a ticket for `cid` of `size` bytes (others are left to kubo). */
  async sources(providers: Array<{ peerId: string; name: string }>, cid: string, size: number, signal?: AbortSignal): Promise<DirectSource[]> {
    const found = await Promise.all(
      providers.map(async ({ peerId, name }): Promise<DirectSource | null> => {
        try {
          const host = this.opts.p2p.remoteHost(peerId);
          // The server listens on IPv4 (0.0.0.0 or 127.0.0.1): an IPv6-only peer is kubo's.
          if (!host || host.includes(":")) return null;
          const t = ticketSchema.parse(await this.opts.p2p.requestJson(peerId, directProtocol, { cid }, { timeoutMs: TICKET_TIMEOUT_MS, maxBytes: MAX_BYTES, ...(signal ? { signal } : {}) }));
          if (t.size !== size) {
            this.log.warn({ peer: name, cid, theirs: t.size, registered: size }, "a provider's file for this CID has another size; not reading it directly");
            return null;
          }
          const endpoint = { host, port: t.port, identity: t.identity, key: Buffer.from(t.key, "base64") };
          return { name, open: (signal) => DirectConnection.open(endpoint, { timeoutMs: CONNECT_TIMEOUT_MS, stallMs: this.opts.stallTimeoutMs, ...(signal ? { signal } : {}) }) };
        } catch (err) {
          this.log.debug({ peer: name, cid, err: (err as Error).message }, "no direct transfer ticket from this provider (kubo serves it instead)");
          return null;
        }
      }),
    );
    return found.filter((s): s is DirectSource => s !== null);
  }
}
