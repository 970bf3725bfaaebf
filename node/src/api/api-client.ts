// The client side of the local API, for the `ripple` CLI (status, peers, down, watching events,
// MOE jobs, asking a model, managing loaded models). Every call has a time limit; every failure says
// what to do.
import { join } from "node:path";
import { RippleError, TimeoutError } from "../errors.ts";
import { inferenceErrorCodes, isInferenceErrorCode } from "../inference/inference-errors.ts";
import { readApiDescriptor, type ApiDescriptor } from "./api-descriptor.ts";
import type { AskBodyInput, MoeBody } from "./inference-schemas.ts";
import type { AccountingView, AllocateRequest, AllocationView, CapabilityView, ReleaseRequest, ResourcesView, ScheduleRequest, ScheduleResult } from "@ripple-mesh/api-types";
import type { ApiEvent, AskResult, DaemonStatus, LocalModel, ModelsRescan, MoeEvent, MoeResult, PeerInfo, ProviderView, ServedSlot, ShardRow } from "@ripple-mesh/api-types";
import type { JoinRequest } from "./local-api.ts";
import { readSse, type SseMessage } from "./sse.ts";
import { DaemonUnreachableError, readEventStream, type EventStreamOptions } from "./event-stream-client.ts";
import type { ArtifactView } from "../artifacts/artifact-service.ts";
import type { PublishResult, PullProgress, PullResult } from "../artifacts/model-shards.ts";
import { linkSignals } from "../linked-signal.ts";

export interface LocalApiClientOptions {
  /** Per request (and per WebSocket handshake). Default 5 s. */
  timeoutMs?: number;
  /** Named in error messages (where the daemon's logs are). */
  dataDir?: string;
}

export { DaemonUnreachableError, type EventStreamOptions };

/** The daemon answered with an error. */
export class LocalApiRequestError extends RippleError {
  constructor(
    message: string,
    fix: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message, fix);
  }
}

export interface InferenceCallOptions {
  /** Cancels the call (the daemon then aborts the job). */
  signal?: AbortSignal;
  /** Default 11 min (the daemon gives up after 10). */
  timeoutMs?: number;
}

const INFERENCE_TIMEOUT_MS = 11 * 60_000;
/** Routes that read or write the DHT (the daemon gives up after 60 s). */
const ZOME_CALL_TIMEOUT_MS = 65_000;

/** Events queued beyond this pause reading from the socket (the daemon drops us if we stay behind). */
export class LocalApiClient {
  readonly url: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly dataDir: string | undefined;

  constructor(descriptor: Pick<ApiDescriptor, "url" | "token">, opts: LocalApiClientOptions = {}) {
    this.url = descriptor.url.replace(/\/+$/, "");
    this.token = descriptor.token;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.dataDir = opts.dataDir;
  }

  /** The client of the daemon running for `dataDir`; throws `NoDaemonRunningError` when none is. */
  static async forDataDir(dataDir: string, opts: Omit<LocalApiClientOptions, "dataDir"> = {}): Promise<LocalApiClient> {
    return new LocalApiClient(await readApiDescriptor(dataDir), { ...opts, dataDir });
  }

  health(): Promise<{ ok: boolean }> {
    return this.request("GET", "/healthz") as Promise<{ ok: boolean }>;
  }

  status(): Promise<DaemonStatus> {
    return this.request("GET", "/v1/status") as Promise<DaemonStatus>;
  }

  peers(): Promise<PeerInfo[]> {
    return this.request("GET", "/v1/peers") as Promise<PeerInfo[]>;
  }

  /** Slots this node served for other nodes' jobs, newest first (the last 50). */
  servedSlots(): Promise<ServedSlot[]> {
    return this.request("GET", "/v1/jobs/served") as Promise<ServedSlot[]>;
  }

  /** Asks the daemon to stop; resolves once it has accepted (it then stops in the background). */
  async shutdown(): Promise<void> {
    await this.request("POST", "/v1/shutdown");
  }

  /**
   * Moves the running node to another mesh; resolves with what the daemon answers once it has joined.
   * Joining starts services, so its time limit is its own (default 120 s).
   */
  join(req: JoinRequest, opts: { timeoutMs?: number } = {}): Promise<DaemonStatus> {
    return this.request("POST", "/v1/join", req, opts.timeoutMs ?? 120_000) as Promise<DaemonStatus>;
  }

  /** Runs an MOE job on the mesh; with `onEvent` it streams the job's progress (assignments, answers) as it happens. */
  async moe(req: MoeBody, opts: InferenceCallOptions & { onEvent?: (e: MoeEvent) => void } = {}): Promise<MoeResult> {
    const timeoutMs = opts.timeoutMs ?? INFERENCE_TIMEOUT_MS;
    const { onEvent } = opts;
    if (!onEvent) return (await this.request("POST", "/v1/moe", req, timeoutMs, opts.signal)) as MoeResult;
    return (await this.stream("/v1/moe", req, timeoutMs, opts.signal, (m, data) => {
      if (m.event?.startsWith("moe:")) onEvent(data as MoeEvent);
    })) as MoeResult;
  }

  /** Asks one model of the mesh; with `onToken` the text streams in as it is generated. */
  async ask(req: AskBodyInput, opts: InferenceCallOptions & { onToken?: (text: string) => void } = {}): Promise<AskResult> {
    const timeoutMs = opts.timeoutMs ?? INFERENCE_TIMEOUT_MS;
    const { onToken } = opts;
    if (!onToken) return (await this.request("POST", "/v1/ask", req, timeoutMs, opts.signal)) as AskResult;
    return (await this.stream("/v1/ask", req, timeoutMs, opts.signal, (m, data) => {
      if (m.event === "token") onToken((data as { text: string }).text);
    })) as AskResult;
  }

  /** The models this node serves, and whether each is loaded. */
  localModels(): Promise<LocalModel[]> {
    return this.request("GET", "/v1/models/local") as Promise<LocalModel[]>;
  }

  /** Loads a registered model into memory; its own time limit (default 130 s: the daemon gives up after 120). */
  loadModel(name: string, opts: { timeoutMs?: number } = {}): Promise<LocalModel> {
    return this.request("POST", `/v1/models/${encodeURIComponent(name)}/load`, undefined, opts.timeoutMs ?? 130_000) as Promise<LocalModel>;
  }

  unloadModel(name: string): Promise<LocalModel> {
    return this.request("POST", `/v1/models/${encodeURIComponent(name)}/unload`) as Promise<LocalModel>;
  }

  /** Has the running node serve what models.json registers now (after `ripple models add|rm`), and re-advertise it. */
  rescanModels(): Promise<ModelsRescan> {
    return this.request("POST", "/v1/models/rescan", undefined, 130_000) as Promise<ModelsRescan>;
  }

  /** Online peers with their capacity (serving `model` when given), and this node's allocations (active ones unless `all`). */
  resources(q: { model?: string; all?: boolean } = {}): Promise<ResourcesView> {
    const qs = new URLSearchParams({ ...(q.model !== undefined ? { model: q.model } : {}), ...(q.all ? { all: "1" } : {}) }).toString();
    return this.request("GET", `/v1/resources${qs ? `?${qs}` : ""}`, undefined, ZOME_CALL_TIMEOUT_MS) as Promise<ResourcesView>;
  }

  /** Work served per agent as resource_mesh counts it: this node and its peers, or only `agent`. */
  accounting(q: { agent?: string } = {}): Promise<AccountingView> {
    const qs = q.agent !== undefined ? `?${new URLSearchParams({ agent: q.agent }).toString()}` : "";
    return this.request("GET", `/v1/accounting${qs}`, undefined, ZOME_CALL_TIMEOUT_MS) as Promise<AccountingView>;
  }

  /** Writes an Allocation to resource_mesh: a peer reserved for `duration_s`. */
  allocate(req: AllocateRequest): Promise<AllocationView> {
    return this.request("POST", "/v1/resources/allocate", req, ZOME_CALL_TIMEOUT_MS) as Promise<AllocationView>;
  }

  /** Writes an AllocationRelease for one of this node's allocations. */
  release(req: ReleaseRequest): Promise<AllocationView> {
    return this.request("POST", "/v1/resources/release", req, ZOME_CALL_TIMEOUT_MS) as Promise<AllocationView>;
  }

  /** Runs an MOE job through resource_mesh, under one of this node's active allocations when named. */
  schedule(req: ScheduleRequest, opts: InferenceCallOptions = {}): Promise<ScheduleResult> {
    return this.request("POST", "/v1/resources/schedule", req, opts.timeoutMs ?? INFERENCE_TIMEOUT_MS, opts.signal) as Promise<ScheduleResult>;
  }

  /** Re-publishes this node's capability to agent_registry and returns it. */
  publishCapability(): Promise<CapabilityView> {
    return this.request("POST", "/v1/capability/publish", undefined, ZOME_CALL_TIMEOUT_MS) as Promise<CapabilityView>;
  }

  /** This node's kubo (GET /v1/ipfs). */
  ipfs(): Promise<Record<string, unknown>> {
    return this.request("GET", "/v1/ipfs") as Promise<Record<string, unknown>>;
  }

  /** Artifacts in artifact_index by CID, name, kind or job (base64 action hash). */
  artifacts(q: { cid?: string; name?: string; kind?: string; job?: string }): Promise<ArtifactView[]> {
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined) as [string, string][]).toString();
    return this.request("GET", `/v1/artifacts${qs ? `?${qs}` : ""}`) as Promise<ArtifactView[]>;
  }

  /** Adds text as an artifact (pinned, registered, provider record written). */
  putArtifact(body: { content: string; name: string; kind?: string; mime?: string; parents?: string[] }): Promise<ArtifactView> {
    return this.request("POST", "/v1/artifacts", body, 60_000) as Promise<ArtifactView>;
  }

  /** The bytes of an artifact and the sha256 the daemon computed over them (checked against artifact_index). */
  async artifactContent(cid: string, opts: { timeoutMs?: number } = {}): Promise<{ bytes: Buffer; sha256: string | null; registered: boolean; mime: string | null }> {
    const what = `GET /v1/artifacts/${cid}/content`;
    const timeoutMs = opts.timeoutMs ?? 130_000;
    let res: Response;
    try {
      res = await fetch(`${this.url}/v1/artifacts/${encodeURIComponent(cid)}/content`, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {}, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw this.transportError(err, what, timeoutMs);
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    if (!res.ok) throw this.errorFromBody(res.status, bytes.toString("utf8"), what);
    return { bytes, sha256: res.headers.get("x-ripple-sha256"), registered: res.headers.get("x-ripple-registered") === "1", mime: res.headers.get("x-ripple-mime") };
  }

  /** Who says they provide a CID; with verify, each is asked to prove it holds the content. */
  providers(cid: string, opts: { verify?: boolean } = {}): Promise<ProviderView[]> {
    return this.request("GET", `/v1/artifacts/${encodeURIComponent(cid)}/providers${opts.verify ? "?verify=1" : ""}`, undefined, 60_000) as Promise<ProviderView[]>;
  }

  /** Adds a registered model to IPFS and announces it (its own time limit: hashing a big GGUF takes a while). */
  publishModel(name: string, opts: { timeoutMs?: number } = {}): Promise<PublishResult> {
    return this.request("POST", `/v1/models/${encodeURIComponent(name)}/publish`, undefined, opts.timeoutMs ?? 30 * 60_000) as Promise<PublishResult>;
  }

  /** Fetches a model by name or CID from the peers that provide it; with `onProgress` the transfer streams its progress. */
  async pullModel(req: { ref: string; name?: string; sha256?: string; anyPublisher?: boolean; viaKubo?: boolean }, opts: InferenceCallOptions & { onProgress?: (p: PullProgress) => void } = {}): Promise<PullResult> {
    const timeoutMs = opts.timeoutMs ?? 60 * 60_000;
    const { onProgress } = opts;
    if (!onProgress) return (await this.request("POST", "/v1/models/pull", req, timeoutMs, opts.signal)) as PullResult;
    return (await this.stream("/v1/models/pull", req, timeoutMs, opts.signal, (m, data) => {
      if (m.event?.startsWith("pull:")) onProgress(data as PullProgress);
    })) as PullResult;
  }

  /** Models × providers with replica counts; with verify, each provider is asked for a proof. */
  shards(opts: { verify?: boolean } = {}): Promise<ShardRow[]> {
    return this.request("GET", `/v1/shards${opts.verify ? "?verify=1" : ""}`, undefined, 120_000) as Promise<ShardRow[]>;
  }

  /** The daemon's events, starting with its `{type: "hello"}`; ends when the daemon closes the stream. */
  events(opts: EventStreamOptions = {}): AsyncGenerator<ApiEvent, void, undefined> {
    return readEventStream(
      {
        url: this.url,
        ...(this.token ? { token: this.token } : {}),
        handshakeTimeoutMs: this.timeoutMs,
        refused: (status, text) => this.errorFromBody(status, text, "GET /v1/events"),
        transportError: (err) => this.transportError(err, "GET /v1/events"),
        unreachableFix: () => this.unreachableFix(),
      },
      opts,
    );
  }

  private async request(method: "GET" | "POST", path: string, body?: unknown, timeoutMs = this.timeoutMs, signal?: AbortSignal): Promise<unknown> {
    const what = `${method} ${path}`;
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    let text: string;
    const link = linkSignals(signal, AbortSignal.timeout(timeoutMs));
    try {
      res = await fetch(this.url + path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: link.signal,
      });
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw this.transportError(err, what, timeoutMs);
    } finally {
      link.dispose();
    }
    if (!res.ok) throw this.errorFromBody(res.status, text, what);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new RippleError(`the daemon at ${this.url} answered ${what} with something that is not JSON`, "check that the daemon and the CLI are the same version", { cause: err });
    }
  }

  /** POST with `Accept: text/event-stream`: each message goes to `onMessage` until `event: result`, whose data is returned. */
  private async stream(path: string, body: unknown, timeoutMs: number, signal: AbortSignal | undefined, onMessage: (m: SseMessage, data: unknown) => void): Promise<unknown> {
    const what = `POST ${path}`;
    const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    const link = linkSignals(signal, timeout);
    try {
      const res = await fetch(this.url + path, { method: "POST", headers, body: JSON.stringify(body), signal: link.signal });
      if (!res.ok) throw this.errorFromBody(res.status, await res.text(), what);
      if (!res.body || !(res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
        throw new RippleError(`the daemon at ${this.url} answered ${what} without an event stream`, "check that the daemon and the CLI are the same version");
      }
      for await (const m of readSse(res.body)) {
        let data: unknown;
        try {
          data = JSON.parse(m.data);
        } catch (err) {
          throw new RippleError(`the daemon at ${this.url} sent an event that is not JSON during ${what}`, "check that the daemon and the CLI are the same version", { cause: err });
        }
        if (m.event === "result") return data;
        if (m.event === "error") {
          const code = (data as { error?: { code?: unknown } }).error?.code;
          throw this.errorFromBody(isInferenceErrorCode(code) ? inferenceErrorCodes[code] : 500, m.data, what);
        }
        onMessage(m, data);
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof RippleError) throw err;
      throw this.transportError(err, what, timeoutMs);
    } finally {
      link.dispose();
    }
    throw new DaemonUnreachableError(`the daemon at ${this.url} ended ${what} before its result`, this.unreachableFix());
  }

  private unreachableFix(): string {
    const logs = this.dataDir ? join(this.dataDir, "logs") : "the daemon's logs";
    return `is \`ripple up\` still running? see ${logs}`;
  }

  private transportError(err: unknown, what: string, timeoutMs = this.timeoutMs): RippleError {
    const e = err as Error & { cause?: { code?: string }; code?: string };
    if (e.name === "TimeoutError" || /handshake has timed out/i.test(e.message)) {
      return new TimeoutError(`the daemon at ${this.url} did not answer ${what} within ${timeoutMs} ms`, this.unreachableFix(), { cause: err });
    }
    const code = e.cause?.code ?? e.code;
    const detail = code ?? e.message;
    return new DaemonUnreachableError(`the daemon is not reachable at ${this.url} (${what}: ${detail})`, this.unreachableFix(), { cause: err });
  }

  private errorFromBody(status: number, text: string, what: string): LocalApiRequestError {
    try {
      const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; fix?: unknown } };
      const e = body.error;
      if (e && typeof e.message === "string") {
        return new LocalApiRequestError(
          `the daemon refused ${what} (${status}): ${e.message}`,
          typeof e.fix === "string" ? e.fix : "see the daemon's logs",
          status,
          typeof e.code === "string" ? e.code : "unknown",
        );
      }
    } catch {
      // not our JSON error body: fall through
    }
    return new LocalApiRequestError(`the daemon at ${this.url} answered ${what} with HTTP ${status}`, this.unreachableFix(), status, "unknown");
  }
}
