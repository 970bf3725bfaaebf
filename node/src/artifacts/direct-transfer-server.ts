// The provider's side of a direct model transfer: a TLS server that sends byte ranges of files this
// node serves, to peers holding a ticket. Why not kubo's bitswap: on a 2-core box it moves a GGUF at
// ~85 MB/s, native TLS at ~300 MB/s (node/bench/artifacts-bench.ts); the puller still checks every
// 1 MiB leaf against its CID and the whole file against its sha256, so the provider is trusted for
// nothing but speed.
//
// Keys: a ticket is a fresh random 32-byte pre-shared key and an identity, handed to one peer over
// the authenticated, bound libp2p link (direct-transfer-protocol.ts); the TLS connection then uses
// TLS-PSK (no certificates to make or check: whoever holds the key is the peer we gave it to).
// A ticket opens connections for ticketTtlMs after it is issued and names exactly one file.
//
// Wire, after the handshake: the client sends a 16-byte request (offset u64 BE, length u64 BE) and
// the server answers with exactly `length` bytes of the file from `offset`; then the next request.
// A request outside the file or longer than MAX_RANGE_BYTES closes the connection.
import { randomBytes } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import type { AddressInfo, Socket } from "node:net";
import tls from "node:tls";
import type { Logger } from "../log.ts";

export const DIRECT_CIPHERS = "PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305";
export const DIRECT_TLS_VERSION = "TLSv1.2"; // Node's TLS-PSK (pskCallback) is TLS 1.2 only
export const REQUEST_BYTES = 16;
export const MAX_RANGE_BYTES = 64 * 1024 * 1024;
const READ_BYTES = 1024 * 1024;
const READ_AHEAD = 4;
/** A TLS-PSK handshake on a LAN takes milliseconds: a socket that has not finished it by then goes. */
const HANDSHAKE_TIMEOUT_MS = 3_000;
/** Sockets open at once, handshaking or served (the served ones are capped by maxConnections). */
const MAX_SOCKETS = 256;
/**
 * Sockets one address may have open at once, handshaking or served: a puller opens 2 per provider
 * (the policy allows up to 8), and several nodes may share a host (or a NAT) pulling at once.
 */
export const MAX_SOCKETS_PER_ADDRESS = 64;

export interface DirectTicket {
  identity: string;
  /** The pre-shared key, 32 random bytes. */
  key: Buffer;
  size: number;
}

interface Issued extends DirectTicket {
  /** The peer it was issued to (libp2p peer id): its share of tickets and connections is bounded. */
  holder: string;
  file: string;
  expiresAtMs: number;
  connections: number;
}

export interface DirectTransferServerOptions {
  /** Where to listen: "0.0.0.0" (peers on other machines) or "127.0.0.1". */
  host: string;
  /** 0: any free port (the ticket tells the peer which). */
  port: number;
  log: Logger;
  /** How long a ticket opens new connections. Default 120 s. */
  ticketTtlMs?: number;
  /** Connections one ticket may have open at once. Default 8. */
  maxConnectionsPerTicket?: number;
  /** Tickets alive at once (a bound peer could ask for tickets in a loop). Default 256. */
  maxTickets?: number;
  /** Connections open at once over all tickets. Default 32. */
  maxConnections?: number;
  /** Tickets one peer may hold alive at once. Default 8. */
  maxTicketsPerPeer?: number;
  /** Connections one peer may have open at once over its tickets (a puller opens 2 per provider). Default 8. */
  maxConnectionsPerPeer?: number;
  /** A connection with no request or no progress for this long is closed. Default 60 s. */
  idleTimeoutMs?: number;
  now?: () => number;
}

export class DirectTransferServer {
  private readonly tickets = new Map<string, Issued>();
  private readonly ticketOf = new WeakMap<tls.TLSSocket, Issued>();
  private server: tls.Server | undefined;
  private readonly sockets = new Set<tls.TLSSocket>();
  private readonly socketsPerAddress = new Map<string, number>();
  private readonly log: Logger;
  /** Bytes sent since start (all connections). */
  bytesSent = 0;

  constructor(private readonly opts: DirectTransferServerOptions) {
    this.log = opts.log.child({ seam: "direct-transfer" });
  }

  get port(): number {
    const addr = this.server?.address() as AddressInfo | null | undefined;
    if (!addr) throw new Error("the direct transfer server is not listening");
    return addr.port;
  }

  async start(): Promise<void> {
    const server = tls.createServer(
      {
        ciphers: DIRECT_CIPHERS,
        minVersion: DIRECT_TLS_VERSION,
        maxVersion: DIRECT_TLS_VERSION,
        pskCallback: (socket, identity) => this.admit(socket, identity),
        // Anyone who reaches the port can open a socket: one that never finishes its handshake is
        // cut soon, and such sockets count against their address, not against the ticket holders'
        // connections (maxConnections counts those, in admit()).
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      },
      (socket) => this.serve(socket),
    );
    server.maxConnections = MAX_SOCKETS;
    server.on("connection", (raw: Socket) => this.limitPerAddress(raw));
    // With a listener here Node leaves the socket open (its default, without one, destroys it): a
    // client that never finished its handshake would keep its socket past the timeout.
    server.on("tlsClientError", (err, socket) => {
      this.log.debug({ err: err.message }, "direct transfer: a TLS handshake failed");
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off("error", reject);
        // Later errors (e.g. EMFILE on accept) must not become an unhandled 'error' event.
        server.on("error", (err) => this.log.warn({ err: err.message }, "direct transfer server error"));
        resolve();
      });
    });
    this.server = server;
    this.log.info({ host: this.opts.host, port: this.port }, "direct model transfer listening");
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy(); // a stopping node ends its transfers (pullers go on elsewhere)
    await closed;
  }

  /**
   * A ticket for `holder` (a peer) to read `file` (of `size` bytes); null while too many are alive, in
   * all or held by that peer (one peer asking in a loop must not take every ticket from the others).
   */
  issue(file: string, size: number, holder: string): DirectTicket | null {
    const now = this.now();
    for (const [id, t] of this.tickets) if (t.expiresAtMs <= now && t.connections === 0) this.tickets.delete(id);
    if (this.tickets.size >= (this.opts.maxTickets ?? 256)) return null;
    const held = [...this.tickets.values()].filter((t) => t.holder === holder).length;
    if (held >= (this.opts.maxTicketsPerPeer ?? 8)) return null;
    const ticket: Issued = { identity: randomBytes(12).toString("hex"), key: randomBytes(32), holder, size, file, expiresAtMs: now + (this.opts.ticketTtlMs ?? 120_000), connections: 0 };
    this.tickets.set(ticket.identity, ticket);
    return { identity: ticket.identity, key: ticket.key, size };
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** The PSK for a client's identity, or null (handshake fails) for an unknown, expired or busy ticket. */
  private admit(socket: tls.TLSSocket, identity: string): Buffer | null {
    const t = this.tickets.get(identity);
    if (!t || t.expiresAtMs <= this.now() || t.connections >= (this.opts.maxConnectionsPerTicket ?? 8)) return null;
    // Connections of every ticket together: the server's limit.
    const allConnections = [...this.tickets.values()].reduce((n, o) => n + o.connections, 0);
    if (allConnections >= (this.opts.maxConnections ?? 32)) return null;
    // All of one peer's tickets together: it cannot take every connection the server has.
    const peerConnections = [...this.tickets.values()].reduce((n, o) => n + (o.holder === t.holder ? o.connections : 0), 0);
    if (peerConnections >= (this.opts.maxConnectionsPerPeer ?? 8)) return null;
    // The slot is taken now, not after the handshake (concurrent handshakes all passed the check).
    t.connections++;
    socket.once("close", () => t.connections--);
    this.ticketOf.set(socket, t);
    return t.key;
  }

  /** Sockets from one address, authenticated or not, at most MAX_SOCKETS_PER_ADDRESS at once. */
  private limitPerAddress(raw: Socket): void {
    const address = raw.remoteAddress ?? "?";
    const open = (this.socketsPerAddress.get(address) ?? 0) + 1;
    if (open > MAX_SOCKETS_PER_ADDRESS) {
      this.log.debug({ address }, "direct transfer: too many sockets from one address; closing one");
      return void raw.destroy();
    }
    this.socketsPerAddress.set(address, open);
    raw.once("close", () => {
      const left = (this.socketsPerAddress.get(address) ?? 1) - 1;
      if (left > 0) this.socketsPerAddress.set(address, left);
      else this.socketsPerAddress.delete(address);
    });
  }

  private serve(socket: tls.TLSSocket): void {
    const ticket = this.ticketOf.get(socket);
    if (!ticket) return void socket.destroy();
    this.sockets.add(socket);
    socket.setTimeout(this.opts.idleTimeoutMs ?? 60_000, () => socket.destroy());
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    let busy = false;
    let file: FileHandle | undefined;
    const fail = (why: string) => {
      this.log.debug({ why }, "direct transfer: closing a connection");
      socket.destroy();
    };
    const next = async (): Promise<void> => {
      while (!busy && pending.length >= REQUEST_BYTES && !socket.destroyed) {
        const offset = Number(pending.readBigUInt64BE(0));
        const length = Number(pending.readBigUInt64BE(8));
        pending = pending.subarray(REQUEST_BYTES);
        if (length < 1 || length > MAX_RANGE_BYTES || offset + length > ticket.size) return fail(`request ${offset}+${length} is outside the file (${ticket.size} bytes) or too long`);
        busy = true;
        try {
          if (!file) {
            const opened = await open(ticket.file, "r");
            if (socket.destroyed) return void (await opened.close()); // closed while opening
            file = opened;
          }
          await this.sendRange(socket, file, offset, length);
        } catch (err) {
          return fail((err as Error).message);
        } finally {
          busy = false;
        }
      }
    };
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      // Requests come one at a time: more than a few queued is not a client of ours.
      if (pending.length > REQUEST_BYTES * 4) return fail("too many requests queued");
      void next();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.sockets.delete(socket);
      void file?.close().catch(() => undefined);
    });
  }

  /** Reads run ahead of the socket (READ_AHEAD blocks) so disk and network overlap. */
  private async sendRange(socket: tls.TLSSocket, file: FileHandle, offset: number, length: number): Promise<void> {
    const end = offset + length;
    let readAt = offset;
    const reads: Array<Promise<Buffer>> = [];
    const readNext = () => {
      if (readAt >= end) return;
      const n = Math.min(READ_BYTES, end - readAt);
      const at = readAt;
      readAt += n;
      const read = file.read(Buffer.allocUnsafe(n), 0, n, at).then(({ bytesRead, buffer }) => {
        if (bytesRead !== n) throw new Error(`the file is shorter than ${at + n} bytes`);
        return buffer;
      });
      read.catch(() => undefined); // handled where it is awaited; a read ahead may fail before that
      reads.push(read);
    };
    for (let k = 0; k < READ_AHEAD; k++) readNext();
    while (reads.length) {
      const buf = await reads.shift()!;
      readNext();
      if (socket.destroyed) throw new Error("the peer closed the connection");
      this.bytesSent += buf.length;
      if (!socket.write(buf)) await new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => {
          socket.off("drain", done);
          socket.off("close", closed);
          if (err) reject(err);
          else resolve();
        };
        const closed = () => done(new Error("the peer closed the connection"));
        socket.once("drain", done);
        socket.once("close", closed);
      });
    }
  }
}
