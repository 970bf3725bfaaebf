// The daemon's local HTTP + WebSocket API, used by the `ripple` CLI and the web UI.
//   GET  /healthz     {ok: true}
//   GET  /metrics     Prometheus text format (when the source has `metrics`; see metrics/node-metrics.ts)
//   GET  /v1/status   source.status()
//   GET  /v1/peers    source.peers()
//   POST /v1/shutdown 202, then source.shutdown() once the response is sent
//   POST /v1/join     {network, bootstrapUrl?} → source.join() (only when the source has join)
//   GET  /v1/events   WebSocket: {type:"hello"} then every source event as one JSON text message
//   inference (only when the source has `inference`): see inference-routes.ts, openai-routes.ts and anthropic-routes.ts
//   GET  /v1/jobs, /v1/jobs/:trace, /v1/policies (when the source has them): see job-routes.ts
//   GET  /v1/resources, POST /v1/resources/{allocate,release,schedule}, POST /v1/capability/publish
//                    (when the source has `resources`): see resource-routes.ts
//   GET  /v1/accounting (when the source has `accounting`): see accounting-routes.ts
//   GET  /           the web UI (when `uiDir` is set): see ui-static.ts
// Who may call it is decided in request-guard.ts (loopback by default; a token beyond loopback).
import type { EventEmitter } from "node:events";
import type { AddressInfo } from "node:net";
import fastifyWebsocket from "@fastify/websocket";
import type { ApiEvent } from "@ripple-mesh/api-types";
import { fastify, LogController, type FastifyError, type FastifyReply } from "fastify";
import { z } from "zod";
import { DaemonNotReadyError, RippleError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { removeApiDescriptor, writeApiDescriptor } from "./api-descriptor.ts";
import { failureOf, sendError, sendJson, withTimeout, type ApiApp } from "./api-reply.ts";
import { inferenceRouteList, registerInferenceRoutes } from "./inference-routes.ts";
import type { InferenceSource } from "./inference-source.ts";
import { registerOpenAiRoutes } from "./openai-routes.ts";
import { registerAnthropicRoutes } from "./anthropic-routes.ts";
import { allowedHostnames, checkRequest, isLoopbackHost, isWildcardHost, normalizeHostname, type ApiErrorBody } from "./request-guard.ts";
import { WS_OPEN, type WsSocket } from "./ws.ts";
import { registerJobRoutes, type JobSource } from "./job-routes.ts";
import { registerUiStatic } from "./ui-static.ts";
import { registerArtifactRoutes } from "./artifact-routes.ts";
import { registerResourceRoutes, resourceRouteList, type ResourceSource } from "./resource-routes.ts";
import { accountingRouteList, registerAccountingRoutes, type AccountingSource } from "./accounting-routes.ts";
import type { CapabilityView } from "@ripple-mesh/api-types";
import type { MeshArtifacts } from "../artifacts/mesh-artifacts.ts";

export { isLoopbackHost } from "./request-guard.ts";

/** What travels on /v1/events. */
export type { ApiEvent };

export const joinRequestSchema = z.strictObject({
  network: z.string().min(1).max(64),
  bootstrapUrl: z.url({ protocol: /^(https?|wss?)$/ }).optional(),
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

/** What the API serves; the daemon implements it. */
export interface ApiSource {
  status(): Promise<unknown>;
  peers(): Promise<unknown>;
  shutdown(): Promise<void>;
  /** Switch this node to another mesh; without it POST /v1/join is 404. */
  join?(req: JoinRequest): Promise<unknown>;
  /** Emits "event" with a JSON-serialisable `ApiEvent`. */
  events: EventEmitter;
  /** MOE, ask, models, and the OpenAI-compatible routes; without it those routes are 404. */
  inference?: InferenceSource;
  /** Recent MOE runs for the web UI (GET /v1/jobs, /v1/jobs/:trace); without it those routes are 404. */
  jobs?: JobSource;
  /** The compute and inference policies in force (GET /v1/policies). */
  policies?(): Promise<unknown>;
  /** IPFS: artifacts, model publish/pull, shards (see api/artifact-routes.ts); without it those routes are 404. */
  artifacts?: () => MeshArtifacts | undefined;
  /** Peers' capacity and this node's allocations (see api/resource-routes.ts); undefined while not in a mesh; without it those routes are 404. */
  resources?: () => ResourceSource | undefined;
  /** Re-publish this node's capability (POST /v1/capability/publish). */
  publishCapability?: () => Promise<CapabilityView>;
  /** This node's metrics in the Prometheus text format (GET /metrics); without it that route is 404. */
  metrics?(): Promise<{ contentType: string; text: string }>;
  /** Per-agent accounting totals (GET /v1/accounting); undefined while not in a mesh; without it that route is 404. */
  accounting?: () => AccountingSource | undefined;
}

export interface LocalApiOptions {
  /** Default 127.0.0.1. Anything but loopback requires `token`. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Required beyond loopback; when set it is checked on every request, loopback included. */
  token?: string;
  source: ApiSource;
  log: Logger;
  /** Default 64 KiB. */
  bodyLimitBytes?: number;
  /** When set, `<dataDir>/api.json` is written once listening and removed on close. */
  dataDir?: string;
  /** Extra names the API may be addressed as in `Host` (e.g. this machine's DNS name). */
  allowedHosts?: string[];
  /** A WebSocket client with more than this many bytes queued is dropped. Default 1 MiB. */
  wsMaxBufferedBytes?: number;
  /** How long status()/peers() (and listing models) may take before the request fails with 504. Default 10 s. */
  sourceTimeoutMs?: number;
  /** How long one MOE job or ask may run before it is aborted with 504. Default 10 min. */
  inferenceTimeoutMs?: number;
  /** How long loading a model may take (504 after). Default 2 min. */
  modelLoadTimeoutMs?: number;
  /** The built web UI (ui/dist), served at `/` behind the same guard; without it `/` is 404. */
  uiDir?: string;
  /** Routes of other doors (MCP at /mcp), registered behind the same guard and body limit. */
  routes?: Array<(app: ApiApp) => void>;
}

export interface LocalApi {
  /** Where a client on this machine reaches the API (a wildcard bind is reached via 127.0.0.1). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The local API could not start. */
export class LocalApiStartError extends RippleError {}

export const API_VERSION = 1;
const MIN_TOKEN_LENGTH = 16;
/** Close code for a client dropped for reading too slowly ("try again later"). */
export const WS_CLOSE_TOO_SLOW = 1013;

export async function startLocalApi(opts: LocalApiOptions): Promise<LocalApi> {
  const host = normalizeHostname(opts.host ?? "127.0.0.1");
  const requestedPort = opts.port ?? 0;
  const token = opts.token === "" ? undefined : opts.token;
  const log = opts.log.child({ seam: "local-api" });
  const wsMaxBufferedBytes = opts.wsMaxBufferedBytes ?? 1024 * 1024;
  const sourceTimeoutMs = opts.sourceTimeoutMs ?? 10_000;

  if (!isLoopbackHost(host) && token === undefined) {
    throw new LocalApiStartError(
      `refusing to serve the local API on ${host} without a token: anyone who can reach that address could control this node`,
      "set a token (`export RIPPLE_API_TOKEN=$(openssl rand -hex 32)` before `ripple up`), or keep the API on loopback with --api-host 127.0.0.1",
    );
  }
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new LocalApiStartError(
      `the API token is too short (${token.length} characters, at least ${MIN_TOKEN_LENGTH} required)`,
      "use a longer RIPPLE_API_TOKEN, e.g. `export RIPPLE_API_TOKEN=$(openssl rand -hex 32)`",
    );
  }

  const app = fastify({
    loggerInstance: log,
    // Per-request info lines would drown the daemon's log (the UI polls); refusals and failures are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimitBytes ?? 64 * 1024,
    requestTimeout: 30_000,
  });
  // Added before the plugin so that it runs before the plugin's own preClose (which closes clients
  // without a code): clients learn the daemon is going away (1001), and one that never answers the
  // close handshake would hold fastify.close() for ws's 30 s close timeout, so it is cut after a grace.
  app.addHook("preClose", async () => {
    const open = [...app.websocketServer.clients] as WsSocket[];
    for (const ws of open) ws.close(1001, "daemon shutting down");
    await Promise.race([
      Promise.all(open.map((ws) => (ws.readyState === 3 ? undefined : new Promise((r) => ws.once("close", r))))),
      new Promise((r) => setTimeout(r, 1000).unref()),
    ]);
    for (const ws of open) ws.terminate();
  });

  // Inbound WebSocket messages are not part of the protocol; keep what a client can make us buffer small.
  await app.register(fastifyWebsocket, { options: { maxPayload: 4096 } });

  const urlHost = isWildcardHost(host) ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  let url = `http://${urlHost}:${requestedPort}`; // the real port is known after listen
  const guard = { allowedHostnames: allowedHostnames(host, opts.allowedHosts), token, get url() { return url; } };

  // Set once the UI's routes are registered (below): which GET paths are the UI's own files.
  let isUiFile: (path: string) => boolean = () => false;
  app.addHook("onRequest", async (req, reply) => {
    const uiFile = (req.method === "GET" || req.method === "HEAD") && !req.ws && isUiFile(req.url.split("?")[0]!);
    const rejection = checkRequest({ headers: req.headers, url: req.url, isWebSocket: req.ws, isUiFile: uiFile }, guard);
    if (rejection) {
      log.warn({ method: req.method, path: req.routeOptions.url ?? "?", code: rejection.code, remote: req.ip }, "local API request refused");
      return sendError(reply, rejection.status, rejection);
    }
  });

  // Every API answer is data, never a page: a browser must not sniff one into HTML, run anything in
  // it or frame it. The UI's own files set their own policy (ui-static.ts).
  app.addHook("onSend", async (_req, reply, payload) => {
    if (reply.getHeader("content-security-policy") === undefined) reply.header("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
    reply.header("x-content-type-options", "nosniff");
    return payload;
  });

  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 404, {
      code: "not_found",
      message: `no route ${req.method} ${req.url.split("?")[0]}`,
      fix: `the local API serves GET /healthz, GET /v1/status, GET /v1/peers, POST /v1/shutdown,${opts.source.join ? " POST /v1/join," : ""}${opts.source.inference ? ` ${inferenceRouteList},` : ""}${opts.source.jobs ? ` GET /v1/jobs,${opts.source.jobs.served ? " GET /v1/jobs/served," : ""} GET /v1/jobs/:trace,` : ""}${opts.source.policies ? " GET /v1/policies," : ""}${opts.source.resources ? ` ${resourceRouteList},` : ""}${opts.source.accounting ? ` ${accountingRouteList},` : ""}${opts.source.metrics ? " GET /metrics," : ""} GET /v1/events (WebSocket)${opts.uiDir ? ", and the web UI at /" : ""}`,
    }),
  );

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof RippleError) {
      const failure = failureOf(err);
      if (failure.status === 500) log.error({ err, path: req.url.split("?")[0] }, "local API request failed");
      else if (failure.status > 500 && !(err instanceof DaemonNotReadyError)) log.warn({ err, path: req.url.split("?")[0], code: failure.code }, "local API request failed");
      return sendError(reply, failure.status, failure);
    }
    const status = err.statusCode ?? 500;
    if (status === 413) {
      return sendError(reply, 413, {
        code: "body_too_large",
        message: `the request body is larger than ${app.initialConfig.bodyLimit} bytes`,
        fix: "send a smaller body",
      });
    }
    if (err.code === "FST_ERR_CTP_INVALID_JSON_BODY" || err.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || (status === 400 && err instanceof SyntaxError)) {
      return sendError(reply, 400, { code: "invalid_json", message: `the request body is not valid JSON: ${err.message}`, fix: "send a valid JSON body (or none)" });
    }
    if (status >= 400 && status < 500) {
      return sendError(reply, status, { code: "bad_request", message: err.message, fix: "correct the request" });
    }
    log.error({ err, path: req.url.split("?")[0] }, "local API request failed");
    return sendError(reply, 500, { code: "internal", message: `internal error: ${err.message}`, fix: "see the daemon's log for details" });
  });

  app.get("/healthz", async () => ({ ok: true }));
  app.get("/v1/status", async (_req, reply) => sendJson(reply, await withTimeout(opts.source.status(), sourceTimeoutMs, "status")));
  app.get("/v1/peers", async (_req, reply) => sendJson(reply, await withTimeout(opts.source.peers(), sourceTimeoutMs, "peers")));
  const { metrics } = opts.source;
  if (metrics) {
    app.get("/metrics", async (_req, reply) => {
      const m = await withTimeout(metrics.call(opts.source), sourceTimeoutMs, "metrics");
      return reply.header("content-type", m.contentType).send(m.text);
    });
  }

  let shutdownRequested = false;
  app.post(
    "/v1/shutdown",
    {
      // Runs after the 202 has been written, so the caller learns that shutdown began before the API goes away.
      onResponse: async (_req, reply) => {
        if (reply.statusCode !== 202 || shutdownRequested) return;
        shutdownRequested = true;
        log.info("shutdown requested over the local API");
        setImmediate(() => {
          opts.source.shutdown().catch((err: unknown) => log.error({ err }, "shutdown requested over the local API failed"));
        });
      },
    },
    async (_req, reply) => reply.code(202).send({ ok: true, shuttingDown: true }),
  );

  const { inference } = opts.source;
  if (inference) {
    const inferenceOptions = {
      inference,
      log,
      sourceTimeoutMs,
      inferenceTimeoutMs: opts.inferenceTimeoutMs ?? 10 * 60_000,
      maxBufferedBytes: wsMaxBufferedBytes,
    };
    registerInferenceRoutes(app, { ...inferenceOptions, modelLoadTimeoutMs: opts.modelLoadTimeoutMs ?? 120_000 });
    await registerOpenAiRoutes(app, inferenceOptions);
    await registerAnthropicRoutes(app, inferenceOptions);
  }

  if (opts.source.artifacts) registerArtifactRoutes(app, { artifacts: opts.source.artifacts, log, testRoutes: process.env.RIPPLE_TEST_ARTIFACTS === "1" });
  if (opts.source.resources) {
    registerResourceRoutes(app, {
      resources: opts.source.resources,
      ...(opts.source.publishCapability ? { publishCapability: opts.source.publishCapability } : {}),
      ...(inference ? { inference } : {}),
      sourceTimeoutMs,
      inferenceTimeoutMs: opts.inferenceTimeoutMs ?? 10 * 60_000,
    });
  }
  if (opts.source.accounting) registerAccountingRoutes(app, { accounting: opts.source.accounting, sourceTimeoutMs });
  registerJobRoutes(app, { ...(opts.source.jobs ? { jobs: opts.source.jobs } : {}), ...(opts.source.policies ? { policies: () => opts.source.policies!() } : {}), sourceTimeoutMs });
  for (const register of opts.routes ?? []) register(app);
  if (opts.uiDir) isUiFile = registerUiStatic(app, opts.uiDir);

  const { join } = opts.source;
  if (join) {
    app.post("/v1/join", async (req, reply) => {
      const parsed = joinRequestSchema.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return sendError(reply, 400, {
          code: "invalid_request",
          message: `invalid join request: ${issue?.path.join(".") || "(body)"}: ${issue?.message}`,
          fix: 'send a JSON body {"network": "<name>", "bootstrapUrl"?: "<url>"}',
        });
      }
      return sendJson(reply, await join.call(opts.source, parsed.data));
    });
  }

  // One listener on the source for all clients: each event is serialised once.
  const clients = new Set<WsSocket>();
  const onEvent = (event: unknown): void => {
    if (clients.size === 0) return;
    let text: string | undefined;
    try {
      text = JSON.stringify(event);
    } catch (err) {
      log.warn({ err }, "an event could not be serialised to JSON; not sent");
      return;
    }
    if (text === undefined) return;
    for (const ws of clients) sendOrDrop(ws, text);
  };
  const sendOrDrop = (ws: WsSocket, text: string): void => {
    if (ws.readyState !== WS_OPEN) return;
    // A client that does not read would otherwise make us queue every event in memory forever.
    if (ws.bufferedAmount > wsMaxBufferedBytes) {
      clients.delete(ws);
      log.warn({ bufferedAmount: ws.bufferedAmount, limit: wsMaxBufferedBytes }, "dropping an event stream client that reads too slowly");
      ws.close(WS_CLOSE_TOO_SLOW, "too slow: events were dropped; reconnect");
      setTimeout(() => ws.terminate(), 2000).unref();
      return;
    }
    ws.send(text);
  };

  app.get("/v1/events", { websocket: true }, (socket) => {
    const ws = socket as WsSocket;
    clients.add(ws);
    ws.on("close", () => clients.delete(ws));
    ws.on("error", () => clients.delete(ws));
    sendOrDrop(ws, JSON.stringify({ type: "hello", api: "ripple-local-api", version: API_VERSION, time: new Date().toISOString() }));
  });

  try {
    await app.listen({ host, port: requestedPort });
  } catch (err) {
    await app.close().catch(() => {});
    throw listenError(err, host, requestedPort);
  }
  const port = (app.server.address() as AddressInfo).port;
  url = `http://${urlHost}:${port}`;
  opts.source.events.on("event", onEvent);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      opts.source.events.off("event", onEvent);
      try {
        await app.close();
      } finally {
        if (opts.dataDir !== undefined) await removeApiDescriptor(opts.dataDir);
      }
      log.info({ url }, "local API closed");
    })());

  if (opts.dataDir !== undefined) {
    try {
      await writeApiDescriptor(opts.dataDir, { url, ...(token ? { token } : {}) });
    } catch (err) {
      opts.source.events.off("event", onEvent);
      await app.close().catch(() => {});
      throw err;
    }
  }
  log.info({ url, tokenRequired: token !== undefined }, "local API listening");
  return { url, port, close };
}

function listenError(err: unknown, host: string, port: number): RippleError {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (code === "EADDRINUSE") {
    return new LocalApiStartError(`cannot serve the local API on ${where}: the port is already in use`, "pick another port with --api-port (0 picks a free one), or stop the other process using it", { cause: err });
  }
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new LocalApiStartError(`cannot serve the local API on ${where}: ${host} is not an address of this machine`, "pick one of this machine's addresses with --api-host (default 127.0.0.1)", { cause: err });
  }
  if (code === "EACCES") {
    return new LocalApiStartError(`cannot serve the local API on ${where}: permission denied`, "pick a port above 1023 with --api-port", { cause: err });
  }
  return new LocalApiStartError(`cannot serve the local API on ${where}: ${(err as Error).message}`, "check --api-host and --api-port", { cause: err });
}
