// The NATS door of a node (`ripple up --nats URL`), beside the local API: it publishes the daemon's
// events (the same emitter that feeds /v1/events) on `ripple.<network>.<kind>.<event>`, and answers
// MOE and ask submissions on `ripple.<network>.submit.moe|ask` (request-reply, in the queue group
// `ripple-submit`, so that one node of those sharing a server answers each). With `local`, it starts
// its own nats-server first. Reconnection is nats.js's: it keeps trying for as long as the node runs.
import type { EventEmitter } from "node:events";
import { join } from "node:path";
import { connect, nkeyAuthenticator, type ConnectionOptions, type Msg, type NatsConnection, type Subscription } from "nats";
import { natsSubmitSubject, type NatsSubmission } from "@ripple-mesh/api-types";
import type { InferenceSource } from "../api/inference-source.ts";
import { nodePaths } from "../config/node-paths.ts";
import { RippleError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { settlesWithin } from "../waits.ts";
import { LocalNatsServer } from "./local-nats-server.ts";
import { natsEventMessage, subjectToken } from "./nats-events.ts";
import type { NatsAuth, NatsSettings } from "./nats-settings.ts";
import { NatsSubmissions } from "./nats-submissions.ts";

export interface NatsBusOptions {
  settings: NatsSettings;
  dataDir: string;
  /** This node's name (the connection's name on the server). */
  name: string;
  /** The network whose subjects are used until a `mesh:joined` event names another. */
  network: string;
  /** Emits "event" with each ApiEvent (the daemon's emitter). */
  events: EventEmitter;
  inference: InferenceSource;
  log: Logger;
  /** How long a submitted job may run (default 10 min, as over HTTP). */
  inferenceTimeoutMs?: number;
}

/** The NATS server could not be reached at start. */
export class NatsConnectError extends RippleError {}

const SUBMIT_QUEUE = "ripple-submit";
const STOP_GRACE_MS = 5000;
const encoder = new TextEncoder();

export class NatsBus {
  private subscriptions: Subscription[] = [];
  private network: string;
  private connected = true;
  private readonly replies = new Set<Promise<void>>();
  private readonly submissions: NatsSubmissions;
  private readonly onEvent = (event: unknown): void => this.publishEvent(event);
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly opts: NatsBusOptions,
    private readonly log: Logger,
    /** The server as logs and the status show it (no credentials). */
    readonly url: string,
    private readonly localServer: LocalNatsServer | undefined,
  ) {
    this.network = subjectToken(opts.network);
    this.submissions = new NatsSubmissions({ inference: opts.inference, log, ...(opts.inferenceTimeoutMs ? { inferenceTimeoutMs: opts.inferenceTimeoutMs } : {}) });
  }

  /** Starts the local server when asked, connects, subscribes and starts publishing. */
  static async start(opts: NatsBusOptions): Promise<NatsBus> {
    const log = opts.log.child({ seam: "nats" });
    const { server, auth } = opts.settings;
    const local =
      server.kind === "local"
        ? await LocalNatsServer.start({ dir: join(opts.dataDir, "nats"), logFile: join(nodePaths(opts.dataDir).logDir, "nats-server.log"), auth, log })
        : undefined;
    const url = local?.url ?? (server.kind === "remote" ? server.url : "");
    const address = local?.address ?? (server.kind === "remote" ? server.address : "");
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: address,
        name: `ripple ${opts.name}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        ...(server.kind === "remote" && server.tls ? { tls: {} } : {}),
        ...authOptions(auth),
      });
    } catch (err) {
      await local?.stop();
      throw new NatsConnectError(
        `could not connect to the NATS server ${url}: ${(err as Error).message}`,
        local ? "see the nats-server log under DATA_DIR/logs" : "start the server (or check --nats), and that RIPPLE_NATS_TOKEN / RIPPLE_NATS_NKEY_SEED is what it expects",
        { cause: err },
      );
    }
    const bus = new NatsBus(nc, opts, log, url, local);
    bus.subscribeSubmissions();
    bus.watchConnection();
    opts.events.on("event", bus.onEvent);
    log.info({ url, network: bus.network, auth: auth.kind }, "NATS event bus connected");
    return bus;
  }

  /** The server while connected, null while reconnecting. */
  get connectedUrl(): string | null {
    return this.connected && !this.nc.isClosed() ? this.url : null;
  }

  /** Stops answering and publishing, answers running submissions with an error, flushes, disconnects. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.opts.events.off("event", this.onEvent);
      for (const s of this.subscriptions) s.unsubscribe();
      this.submissions.abortAll();
      await settlesWithin(Promise.all(this.replies), STOP_GRACE_MS);
      // A server that is away cannot take the drain: close after a grace instead of waiting for it.
      const drained = this.nc.drain().then(
        () => true,
        (err: unknown) => (this.log.warn({ err }, "NATS connection did not drain cleanly"), false),
      );
      if (!(await Promise.race([drained, new Promise<false>((r) => setTimeout(() => r(false), STOP_GRACE_MS).unref())]))) await this.nc.close().catch(() => {});
      await this.localServer?.stop();
      this.log.info({ url: this.url }, "NATS event bus closed");
    })());
  }

  private publishEvent(event: unknown): void {
    const joined = event as { type?: unknown; network?: unknown };
    if (joined?.type === "mesh:joined" && typeof joined.network === "string" && subjectToken(joined.network) !== this.network) {
      this.network = subjectToken(joined.network);
      // This runs inside the daemon's event emitter: a closed connection must not throw into a join.
      if (this.nc.isClosed()) return;
      try {
        this.subscribeSubmissions();
      } catch (err) {
        this.log.warn({ err, network: this.network }, "could not subscribe to the new network's NATS submissions");
      }
    }
    const message = natsEventMessage(event, this.network);
    if (!message || this.nc.isClosed()) return;
    try {
      this.nc.publish(message.subject, encoder.encode(JSON.stringify(message.payload)));
    } catch (err) {
      this.log.warn({ err, subject: message.subject }, "an event could not be published on NATS");
    }
  }

  private subscribeSubmissions(): void {
    for (const s of this.subscriptions) s.unsubscribe();
    this.subscriptions = (["moe", "ask"] as const).map((what) =>
      this.nc.subscribe(natsSubmitSubject(this.network, what), {
        queue: SUBMIT_QUEUE,
        callback: (err, msg) => {
          if (err) this.log.warn({ err }, "NATS submission subscription failed");
          else this.onSubmission(what, msg);
        },
      }),
    );
  }

  private onSubmission(what: NatsSubmission, msg: Msg): void {
    if (!msg.reply) {
      this.log.warn({ subject: msg.subject }, "a NATS submission without a reply subject was ignored (send it as a request)");
      return;
    }
    const reply = this.submissions.answer(what, msg.data).then((answer) => this.respond(msg, answer));
    this.replies.add(reply);
    void reply.finally(() => this.replies.delete(reply));
  }

  private respond(msg: Msg, answer: unknown): void {
    if (this.nc.isClosed()) return;
    let data = encoder.encode(JSON.stringify(answer));
    if (data.byteLength > this.nc.info!.max_payload) {
      const error = { code: "reply_too_large", message: `the answer (${data.byteLength} bytes) is larger than the server's max_payload (${this.nc.info!.max_payload})`, fix: "ask for fewer tokens (max_tokens), or use POST /v1/moe" };
      data = encoder.encode(JSON.stringify({ error }));
    }
    try {
      msg.respond(data);
    } catch (err) {
      this.log.warn({ err, subject: msg.subject }, "a NATS submission's answer could not be sent");
    }
  }

  private watchConnection(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === "disconnect") {
          this.connected = false;
          this.log.warn({ url: this.url }, "NATS connection lost; reconnecting");
        } else if (s.type === "reconnect") {
          this.connected = true;
          this.log.info({ url: this.url }, "NATS connection restored");
        } else if (s.type === "error") {
          this.log.warn({ url: this.url, data: s.data }, "NATS connection error");
        }
      }
    })().catch(() => {});
    void this.nc.closed().then((err) => {
      this.connected = false;
      if (err && !this.stopping) this.log.error({ err, url: this.url }, "NATS connection closed for good");
    });
  }
}

function authOptions(auth: NatsAuth): Partial<ConnectionOptions> {
  if (auth.kind === "token") return { token: auth.token };
  if (auth.kind === "nkey") return { authenticator: nkeyAuthenticator(encoder.encode(auth.seed)) };
  return {};
}
