// The `local` mesh needs no configuration, yet Holochain 0.7 needs one shared bootstrap/relay URL
// per mesh and has no LAN discovery (DESIGN.md). So the nodes find each other with libp2p mDNS and
// elect one of them to host a bootstrap/relay server: whoever already hosts one wins; when nobody
// does, the node with the lowest peer id starts one. When two hosts meet (two nodes started at
// once, or two meshes merged), the one with the higher peer id gives way. When the host leaves,
// the remaining nodes elect again. Every change of URL is announced with `changed`, and the daemon
// restarts its conductor on the new URL.
//
// Trust: this is a LAN convenience. Any node on the LAN running the same service can point us at a
// relay; the relay only forwards encrypted traffic and our DHT data is validated by our own
// conductor, so the worst it can do is keep us apart from our peers.
import { EventEmitter } from "node:events";
import { z } from "zod";
import { NodeStoppedError } from "../errors.ts";
import type { Logger } from "../log.ts";

export const localHostProtocol = "/ripple-mesh/local-host/1.0.0";

/** What the election needs from the libp2p seam. */
export interface HostTransport {
  readonly peerId: string;
  connectedPeers(): string[];
  requestJson(peerId: string, protocol: string, request: unknown, opts: { timeoutMs: number; maxBytes: number }): Promise<unknown>;
  handleJson(
    protocol: string,
    handler: (request: unknown) => Promise<unknown>,
    opts: { maxBytes: number; allowUnbound: boolean },
  ): void | Promise<void>;
}

/** A server this node can host; `start` resolves to the URL every node must use. */
export interface HostableServer {
  start(): Promise<string>;
  stop(): Promise<void>;
  /** The server's process, when it runs as one (`ripple status` reports its memory). */
  readonly pid?: number | undefined;
}

const answerSchema = z.strictObject({
  url: z.string().max(256).nullable(),
  hostPeerId: z.string().max(128).nullable(),
});
type Answer = z.infer<typeof answerSchema>;

export interface MeshHostState {
  url: string;
  hostPeerId: string;
  self: boolean;
}

export interface LocalMeshHostOptions {
  transport: HostTransport;
  /** Makes a fresh server each time this node becomes the host. */
  newServer: () => HostableServer;
  log: Logger;
  /** How long to listen for peers before deciding nobody hosts (mDNS answers within ~25 ms). */
  discoveryMs?: number;
  /** How often the host's presence and rival hosts are checked. */
  checkIntervalMs?: number;
}

export class LocalMeshHost extends EventEmitter {
  private state: MeshHostState | undefined;
  private server: HostableServer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly opts: LocalMeshHostOptions) {
    super();
    this.log = opts.log.child({ seam: "local-mesh-host" });
  }

  /** The pid of the server this node hosts now; undefined when another node hosts it. */
  get serverPid(): number | undefined {
    return this.server?.pid;
  }

  get current(): MeshHostState | undefined {
    return this.state;
  }

  /** Answer peers' questions, find or become the host, and keep watching. Resolves to the URL. */
  async start(): Promise<MeshHostState> {
    await this.opts.transport.handleJson(localHostProtocol, async () => this.answer(), { maxBytes: 1024, allowUnbound: true });
    await sleep(this.opts.discoveryMs ?? 1500);
    await this.elect();
    if (this.stopped || !this.state) throw new NodeStoppedError("the local mesh's host election was stopped", "start the node again when you want it in the mesh");
    // A check that fails (a bootstrap server that will not start) is logged; the next one tries again.
    this.timer = setInterval(() => void this.check().catch((err: Error) => this.log.error({ err }, "could not check or take over the local mesh's host; trying again")), this.opts.checkIntervalMs ?? 1000);
    return this.state;
  }

  /** Stop electing (a node that is leaving must not take over as host on its way out). */
  stopWatching(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  async stop(): Promise<void> {
    this.stopWatching();
    await this.server?.stop();
    this.server = undefined;
  }

  private answer(): Answer {
    return { url: this.state?.url ?? null, hostPeerId: this.state?.hostPeerId ?? null };
  }

  /** Ask every connected peer who hosts; adopt the lowest-id host, or host when we are the lowest. */
  private async elect(): Promise<void> {
    const me = this.opts.transport.peerId;
    for (let round = 0; !this.stopped; round++) {
      const answers = await this.ask();
      if (this.stopped) return; // stopped while asking: a leaving node must not take over
      const host = lowestHost(answers, (id) => this.reachable(id));
      if (host) return this.adopt(host);
      const candidates = [me, ...answers.keys()].sort();
      // Nobody hosts. The lowest peer id hosts; the others give it a few rounds to do so.
      if (candidates[0] === me || round >= 5) return this.host();
      await sleep(500);
    }
  }

  private async ask(): Promise<Map<string, Answer>> {
    const { transport } = this.opts;
    const answers = new Map<string, Answer>();
    await Promise.all(
      transport.connectedPeers().map(async (peer) => {
        try {
          const raw = await transport.requestJson(peer, localHostProtocol, {}, { timeoutMs: 2000, maxBytes: 1024 });
          answers.set(peer, answerSchema.parse(raw));
        } catch (err) {
          this.log.debug({ peer, err: (err as Error).message }, "peer did not say who hosts the local mesh");
        }
      }),
    );
    return answers;
  }

  private async check(): Promise<void> {
    if (this.checking || this.stopped || !this.state) return;
    this.checking = true;
    try {
      const answers = await this.ask();
      const rival = lowestHost(answers, (id) => this.reachable(id));
      if (rival && rival.url !== this.state.url && rival.hostPeerId < this.state.hostPeerId) {
        this.log.info({ rival }, "a host with a lower peer id serves this mesh; moving to it");
        await this.adopt(rival);
      } else if (!this.state.self && !this.opts.transport.connectedPeers().includes(this.state.hostPeerId)) {
        this.log.warn({ host: this.state.hostPeerId }, "the local mesh's host left; electing a new one");
        await this.elect();
      }
    } finally {
      this.checking = false;
    }
  }

  /** A host is worth adopting only while we are connected to it (peers may still name a dead one). */
  private reachable(hostPeerId: string): boolean {
    return hostPeerId === this.opts.transport.peerId ? this.server !== undefined : this.opts.transport.connectedPeers().includes(hostPeerId);
  }

  private async adopt(host: { url: string; hostPeerId: string }): Promise<void> {
    const previous = this.state;
    this.state = { url: host.url, hostPeerId: host.hostPeerId, self: false };
    if (this.server) {
      await this.server.stop();
      this.server = undefined;
    }
    this.log.info({ url: host.url, host: host.hostPeerId }, "using the local mesh's host");
    if (previous && previous.url !== host.url) this.emit("changed", this.state);
  }

  private async host(): Promise<void> {
    const previous = this.state;
    const server = this.opts.newServer();
    this.server = server;
    const url = await server.start();
    // stop() came while the server started: it stopped it (it was assigned above); nothing to announce.
    if (this.stopped) {
      await server.stop();
      return;
    }
    this.state = { url, hostPeerId: this.opts.transport.peerId, self: true };
    this.log.info({ url }, "hosting the local mesh's bootstrap/relay server");
    if (previous && previous.url !== url) this.emit("changed", this.state);
  }
}

/** The reported host with the lowest peer id: every node picks the same one. */
function lowestHost(answers: Map<string, Answer>, reachable: (peerId: string) => boolean): { url: string; hostPeerId: string } | undefined {
  const hosts = [...answers.values()].filter(
    (a): a is { url: string; hostPeerId: string } => a.url !== null && a.hostPeerId !== null && reachable(a.hostPeerId),
  );
  return hosts.sort((a, b) => (a.hostPeerId < b.hostPeerId ? -1 : a.hostPeerId > b.hostPeerId ? 1 : 0))[0];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
