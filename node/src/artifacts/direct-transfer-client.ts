// The puller's side of a direct model transfer (direct-transfer-server.ts says why and how): one
// TLS-PSK connection to a provider, reading byte ranges of the file its ticket names. The bytes are
// not trusted here: the caller checks each leaf against its CID (block-pull.ts).
import tls from "node:tls";
import { DIRECT_CIPHERS, DIRECT_TLS_VERSION, MAX_RANGE_BYTES, REQUEST_BYTES } from "./direct-transfer-server.ts";

export interface DirectEndpoint {
  host: string;
  port: number;
  identity: string;
  key: Buffer;
}

export class DirectTransferError extends Error {
  override name = "DirectTransferError";
}

/** What a connect or a read ends with when the pull's signal aborts it. */
const cancelled = () => new DirectTransferError("the pull was cancelled");

export class DirectConnection {
  private constructor(
    private readonly socket: tls.TLSSocket,
    private readonly stallMs: number,
  ) {}

  /**
   * Connect and finish the TLS-PSK handshake within timeoutMs; stallMs bounds every later read. A
   * cancelled pull (signal) stops waiting at once rather than at the connect timeout.
   */
  static open(ep: DirectEndpoint, o: { timeoutMs: number; stallMs: number; signal?: AbortSignal }): Promise<DirectConnection> {
    if (o.signal?.aborted) return Promise.reject(cancelled());
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: ep.host,
        port: ep.port,
        ciphers: DIRECT_CIPHERS,
        minVersion: DIRECT_TLS_VERSION,
        maxVersion: DIRECT_TLS_VERSION,
        // The PSK authenticates the server: there is no certificate to check.
        checkServerIdentity: () => undefined,
        pskCallback: () => ({ psk: ep.key, identity: ep.identity }),
      });
      const timer = setTimeout(() => fail(new DirectTransferError(`no TLS handshake with ${ep.host}:${ep.port} within ${o.timeoutMs} ms`)), o.timeoutMs);
      const onAbort = () => fail(cancelled());
      o.signal?.addEventListener("abort", onAbort, { once: true });
      const fail = (err: Error) => {
        clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
        socket.destroy();
        reject(err instanceof DirectTransferError ? err : new DirectTransferError(`could not connect to ${ep.host}:${ep.port}: ${err.message}`));
      };
      socket.once("error", fail);
      socket.once("secureConnect", () => {
        clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
        socket.off("error", fail);
        socket.on("error", () => undefined); // reads report failures through their own listeners
        socket.setNoDelay(true);
        resolve(new DirectConnection(socket, o.stallMs));
      });
    });
  }

  /**
   * Read [offset, offset + length): `onBytes` gets the bytes in order, as they arrive (the chunks
   * are the caller's to keep). While the promise it returns is pending the socket is paused, so a
   * slow consumer slows the sender instead of filling memory.
   */
  read(offset: number, length: number, onBytes: (chunk: Buffer) => Promise<void> | void, signal?: AbortSignal): Promise<void> {
    if (length < 1 || length > MAX_RANGE_BYTES) throw new RangeError(`a range of ${length} bytes is outside 1..${MAX_RANGE_BYTES}`);
    const { socket } = this;
    return new Promise<void>((resolve, reject) => {
      let left = length;
      let waiting = 0;
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        socket.off("data", onData);
        socket.off("close", onClose);
        socket.off("error", onClose);
        socket.off("timeout", onStall);
        signal?.removeEventListener("abort", onAbort);
        socket.setTimeout(0);
        if (err) {
          socket.destroy();
          reject(err);
        } else resolve();
      };
      const onData = (chunk: Buffer) => {
        if (chunk.length > left) return finish(new DirectTransferError(`the provider sent ${chunk.length - left} bytes more than the ${length} asked for`));
        left -= chunk.length;
        let r: Promise<void> | void;
        try {
          r = onBytes(chunk);
        } catch (err) {
          return finish(err as Error);
        }
        if (r) {
          waiting++;
          socket.pause();
          r.then(
            () => {
              if (--waiting === 0 && !settled) socket.resume();
              if (left === 0 && waiting === 0) finish();
            },
            (err: Error) => finish(err),
          );
        }
        if (left === 0 && waiting === 0) finish();
      };
      const onClose = () => finish(new DirectTransferError(`the provider closed the connection with ${left} of ${length} bytes still to come`));
      const onStall = () => finish(new DirectTransferError(`no bytes from the provider for ${this.stallMs} ms`));
      const onAbort = () => finish(cancelled());
      if (signal?.aborted) return onAbort();
      // Closed between two reads (the provider stopped): no 'close' event is coming for this read.
      if (socket.destroyed || socket.readableEnded || !socket.writable) return finish(new DirectTransferError(`the provider closed the connection before a read of ${length} bytes`));
      signal?.addEventListener("abort", onAbort, { once: true });
      socket.on("data", onData);
      socket.once("close", onClose);
      socket.once("error", onClose);
      socket.setTimeout(this.stallMs, onStall);
      const req = Buffer.alloc(REQUEST_BYTES);
      req.writeBigUInt64BE(BigInt(offset), 0);
      req.writeBigUInt64BE(BigInt(length), 8);
      socket.write(req);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
