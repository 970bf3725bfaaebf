// The UI's one state: what the daemon said last (status, peers, local models, jobs, policies), the
// event stream's state, and per-resource load errors. Filled by `connect()`: REST reads on every
// (re)connection, live updates from /v1/events, and a slow poll for what has no event (load, last
// heartbeat, conductor pid). Components read it through useStore().
import { EventSocket, type SocketState } from "../api/event-socket.ts";
import { ApiError, getJson } from "../api/http.ts";
import { apiToken, setApiToken } from "../api/api-token.ts";
import type { ApiEvent, DaemonStatus, JobRecord, JobSummary, LocalModel, MoeEvent, PeerInfo, Policies, ServedSlot, ShardRow as IpfsShard } from "@ripple-mesh/api-types";
import { applyJobEvent, upsertJob } from "../lib/jobs.ts";
import { applyPullEvent, isPullEvent, type PullView } from "../lib/pulls.ts";

export type Loadable<T> = { state: "loading" } | { state: "ready"; value: T; at: number } | { state: "error"; message: string; fix: string; last?: T };

/** Whether the daemon let this page in: it asks for a token when the daemon requires one (api-token.ts). */
export type AccessState = { kind: "checking" } | { kind: "granted" } | { kind: "token-needed"; message: string; fix: string };

export interface UiState {
  access: AccessState;
  socket: SocketState;
  status: Loadable<DaemonStatus>;
  peers: Loadable<PeerInfo[]>;
  localModels: Loadable<LocalModel[]>;
  /** Models in IPFS: CIDs, providers, replica counts (read from the DHT, so polled slowly). */
  shards: Loadable<IpfsShard[]>;
  jobs: Loadable<JobSummary[]>;
  /** Slots this node served for other nodes' jobs (reloaded on the worker's events). */
  served: Loadable<ServedSlot[]>;
  policies: Loadable<Policies>;
  /** This node's model pulls since the page opened (from their events), newest first. */
  pulls: PullView[];
  /** Records of jobs opened on the detail page (and the console's), kept current from events. */
  jobDetails: Record<string, Loadable<JobRecord>>;
  /** Events received since the page loaded (shown on the Node page). */
  eventsSeen: number;
}

/** The newest value a resource had: its value, or the one kept under a later load error. */
export function latestOf<T>(l: Loadable<T>): T | undefined {
  return l.state === "ready" ? l.value : l.state === "error" ? l.last : undefined;
}

type Listener = () => void;

const POLL_MS = 3000;
/** Every how many polls the IPFS shards are read again (each read walks artifact_index). */
const SHARDS_EVERY_POLLS = 4;

export class Store {
  state: UiState = {
    access: { kind: "checking" },
    socket: { kind: "connecting", attempt: 0 },
    status: { state: "loading" },
    peers: { state: "loading" },
    localModels: { state: "loading" },
    shards: { state: "loading" },
    jobs: { state: "loading" },
    served: { state: "loading" },
    policies: { state: "loading" },
    pulls: [],
    jobDetails: {},
    eventsSeen: 0,
  };
  private readonly listeners = new Set<Listener>();
  private socket: EventSocket | undefined;
  private poll: ReturnType<typeof setInterval> | undefined;
  private polls = 0;

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private set(patch: Partial<UiState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  /** Checks that the daemon lets this page in (else asks for its token), then follows its events. */
  connect(): void {
    void this.checkAccess();
  }

  /** The token typed into the page: kept for this tab and tried at once. */
  async submitToken(token: string): Promise<void> {
    setApiToken(token.trim());
    await this.checkAccess();
  }

  private async checkAccess(): Promise<void> {
    try {
      await getJson("/v1/status");
    } catch (err) {
      if (this.refusedToken(err)) return;
      // Unreachable or failing: the event stream's reconnects say so, and check again.
    }
    this.set({ access: { kind: "granted" } });
    this.follow();
  }

  /** A 401 from the daemon: stop following it and ask for the token. True when that was the error (also a stale one, ignored). */
  refusedToken(err: unknown): boolean {
    if (!(err instanceof ApiError) || err.status !== 401) return false;
    // A refusal of a request sent with an older token says nothing about the current one.
    if (err.sentToken !== apiToken()) return true;
    this.disconnect();
    this.set({ access: { kind: "token-needed", message: err.message, fix: err.fix } });
    return true;
  }

  /** The event stream, REST reads on every (re)connection, and the slow poll. */
  private follow(): void {
    if (this.socket) return;
    this.socket = new EventSocket({
      onEvent: (e) => this.onEvent(e),
      onState: (socket) => {
        this.set({ socket });
        // A daemon restarted with a token refuses the WebSocket without saying why: ask over HTTP.
        if (socket.kind === "waiting") void getJson("/v1/status").catch((err: unknown) => this.refusedToken(err));
      },
      onOpen: () => void this.reloadAll(),
    });
    this.socket.start();
    this.poll = setInterval(() => {
      if (this.state.socket.kind !== "open") return;
      const shards = ++this.polls % SHARDS_EVERY_POLLS === 0 ? [this.load("shards", "/v1/shards")] : [];
      void Promise.all([this.load("status", "/v1/status"), this.load("peers", "/v1/peers"), ...shards]);
    }, POLL_MS);
  }

  disconnect(): void {
    this.socket?.stop();
    this.socket = undefined;
    clearInterval(this.poll);
  }

  retryNow(): void {
    this.socket?.retryNow();
  }

  async reloadAll(): Promise<void> {
    await Promise.all([
      this.load("status", "/v1/status"),
      this.load("peers", "/v1/peers"),
      this.load("localModels", "/v1/models/local"),
      this.load("shards", "/v1/shards"),
      this.load("jobs", "/v1/jobs"),
      this.load("served", "/v1/jobs/served"),
      this.load("policies", "/v1/policies"),
      ...Object.keys(this.state.jobDetails).map((t) => this.loadJob(t)),
    ]);
  }

  async loadJob(trace: string): Promise<void> {
    if (!this.state.jobDetails[trace]) this.set({ jobDetails: { ...this.state.jobDetails, [trace]: { state: "loading" } } });
    try {
      const value = await getJson<JobRecord>(`/v1/jobs/${encodeURIComponent(trace)}`);
      this.set({ jobDetails: { ...this.state.jobDetails, [trace]: { state: "ready", value, at: Date.now() } } });
    } catch (err) {
      if (this.refusedToken(err)) return;
      const e = err as Error & { fix?: string };
      this.set({ jobDetails: { ...this.state.jobDetails, [trace]: { state: "error", message: e.message, fix: e.fix ?? "" } } });
    }
  }

  async load<K extends "status" | "peers" | "localModels" | "shards" | "jobs" | "served" | "policies">(key: K, path: string): Promise<void> {
    try {
      const value = await getJson<unknown>(path);
      this.set({ [key]: { state: "ready", value, at: Date.now() } } as Partial<UiState>);
    } catch (err) {
      if (this.refusedToken(err)) return;
      const e = err as Error & { fix?: string };
      const last = latestOf<unknown>(this.state[key]);
      this.set({ [key]: { state: "error", message: e.message, fix: e.fix ?? "", ...(last !== undefined ? { last } : {}) } } as Partial<UiState>);
    }
  }

  private onEvent(e: ApiEvent): void {
    const eventsSeen = this.state.eventsSeen + 1;
    if (isPullEvent(e)) {
      this.set({ eventsSeen, pulls: applyPullEvent(this.state.pulls, e, Date.now()) });
      // A pulled model is registered here now, and this node provides its CID.
      if (e.type === "model:pulled") void Promise.all([this.load("localModels", "/v1/models/local"), this.load("shards", "/v1/shards")]);
      return;
    }
    switch (e.type) {
      case "peer:joined":
      case "peer:online":
      case "peer:offline":
        this.set({ eventsSeen, peers: withPeer(this.state.peers, (e as { peer: PeerInfo }).peer) });
        return;
      case "models:changed":
      case "model:loaded":
      case "model:unloaded":
        this.set({ eventsSeen });
        void this.load("localModels", "/v1/models/local");
        return;
      case "mesh:joined":
      case "relay:changed":
        this.set({ eventsSeen });
        void this.reloadAll();
        return;
      case "moe:job-started":
      case "moe:job-finished": {
        const job = (e as { job: JobSummary }).job;
        const jobs = this.state.jobs.state === "ready" ? upsertJob(this.state.jobs.value, job) : [job];
        this.set({ eventsSeen, jobs: { state: "ready", value: jobs, at: Date.now() } });
        // A finished job's record has its result: fetch it for any page showing it.
        if (e.type === "moe:job-finished" && this.state.jobDetails[job.trace_id]) void this.loadJob(job.trace_id);
        return;
      }
      case "moe:job-progress": {
        const { trace_id, event } = e as { trace_id: string; event: MoeEvent };
        const detail = this.state.jobDetails[trace_id];
        if (detail?.state === "ready") {
          this.set({ eventsSeen, jobDetails: { ...this.state.jobDetails, [trace_id]: { ...detail, value: applyJobEvent(detail.value, event) } } });
        } else this.set({ eventsSeen });
        return;
      }
      case "job:refused":
      case "job:started":
      case "job:answered":
      case "job:failed":
        this.set({ eventsSeen });
        void this.load("served", "/v1/jobs/served");
        return;
      default:
        this.set({ eventsSeen });
    }
  }
}

/** The peer list with `peer` replaced (or added), in the daemon's order: this node first, then by name. */
export function withPeer(list: Loadable<PeerInfo[]>, peer: PeerInfo): Loadable<PeerInfo[]> {
  const peers = latestOf(list) ?? [];
  const next = [...peers.filter((p) => p.agent !== peer.agent), peer].sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name) || a.agent.localeCompare(b.agent));
  return { state: "ready", value: next, at: Date.now() };
}

export const store = new Store();
