// The `ws` package ships no type declarations and @types/ws is not installed, so the few members the
// local API and its client use are typed here, in one place. (With @types/ws this file becomes
// `export { WebSocket } from "ws"`.)
import type { EventEmitter } from "node:events";
import { createRequire } from "node:module";

export interface WsSocket extends EventEmitter {
  readonly readyState: number;
  /** Bytes queued for sending but not yet handed to the OS. */
  readonly bufferedAmount: number;
  send(data: string, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  /** Stops reading from the socket (TCP back-pressure reaches the sender). */
  pause(): void;
  resume(): void;
}

export interface WsClientOptions {
  headers?: Record<string, string>;
  handshakeTimeout?: number;
  maxPayload?: number;
}

export const WS_OPEN = 1;

const ws = createRequire(import.meta.url)("ws") as { WebSocket: new (url: string, options?: WsClientOptions) => WsSocket };

export const WebSocket = ws.WebSocket;
