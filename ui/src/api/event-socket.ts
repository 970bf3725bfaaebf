// The daemon's event stream (/v1/events, WebSocket), kept open: when it drops (daemon stopped or
// restarting) it reconnects with backoff and reports each state so the UI can say what is going on.
import { reconnectDelayMs } from "../lib/backoff.ts";
import { withTokenQuery } from "./api-token.ts";
import type { ApiEvent } from "@ripple-mesh/api-types";

export type SocketState =
  | { kind: "connecting"; attempt: number }
  | { kind: "open"; since: number }
  | { kind: "waiting"; attempt: number; retryAt: number; lastError: string };

export interface EventSocketOptions {
  onEvent: (event: ApiEvent) => void;
  onState: (state: SocketState) => void;
  /** Called on every (re)connection, after the socket opened: reload what may have been missed. */
  onOpen: () => void;
  url?: string;
}

export class EventSocket {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly opts: EventSocketOptions) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }

  /** Reconnect now instead of waiting out the backoff (the banner's "retry now"). */
  retryNow(): void {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    clearTimeout(this.timer);
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    this.opts.onState({ kind: "connecting", attempt: this.attempt });
    const url = this.opts.url ?? withTokenQuery(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/events`);
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.opts.onState({ kind: "open", since: Date.now() });
      this.opts.onOpen();
    };
    ws.onmessage = (m) => {
      try {
        this.opts.onEvent(JSON.parse(String(m.data)) as ApiEvent);
      } catch {
        // not JSON: not ours
      }
    };
    ws.onclose = (e) => {
      if (this.ws !== ws || this.closed) return;
      const why = opened ? (e.code === 1001 ? "it is shutting down" : `the connection closed (code ${e.code})`) : `nothing answers at ${location.host}`;
      const delay = reconnectDelayMs(this.attempt);
      this.attempt++;
      this.opts.onState({ kind: "waiting", attempt: this.attempt, retryAt: Date.now() + delay, lastError: why });
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }
}
