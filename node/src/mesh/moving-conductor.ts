// A mesh session's conductor, which moves with the local mesh's host: the conductor reads its relay
// URL only at start, so when the node that hosts the mesh leaves and another is elected, the
// conductor is stopped and started again on the new host. Moves are queued; a start on the new host
// that fails is tried again until it works; zome calls wait for a move instead of failing.
import { setTimeout as sleep } from "node:timers/promises";
import type { Conductor, ZomeCallRequest } from "../conductor/conductor.ts";
import { DaemonNotReadyError } from "../errors.ts";
import type { Logger } from "../log.ts";

/**
 * A conductor that could not start on the local mesh's new host is tried again after these waits
 * (the last one repeats): a node must not stay without a conductor until someone restarts it.
 */
const hostMoveRetryMs = [1000, 5000, 15_000, 30_000];
/** How long a zome call waits for a move to a new host before it is answered "not ready". */
const hostMoveWaitMs = 60_000;
/**
 * Zome functions that only read (the zomes name them get_…, list_…): one cut off because a move
 * stopped its conductor under it is asked again of the moved one. A write is not: it may have been
 * committed before the conductor stopped, and its caller decides.
 */
const READ_FN = /^(get_|list_)|^validation_status$/;

export class MovingConductor {
  private conductor: Conductor | undefined;
  private url: string | undefined;
  /** Set while a move is queued or under way (cleared before the move's promise settles). */
  private move: Promise<void> | undefined;
  /** The newest host the local mesh announced: a move still retrying for an older one gives way. */
  private newestUrl: string | undefined;
  private stopping = false;
  /** Aborted by stop(): ends a move's wait before its next try, and a call's wait for a move. */
  private readonly stopped = new AbortController();
  /** Conductor restarts on a new host so far. */
  moves = 0;

  /** `create` builds (does not start) a conductor that uses `relayUrl`; `onMoved` hears of each move done. */
  constructor(
    private readonly create: (relayUrl: string) => Conductor,
    private readonly log: Logger,
    private readonly onMoved: (relayUrl: string) => void,
  ) {}

  /**
   * The first start, on the relay the session found. The mesh may name another host while it starts:
   * the move stops this conductor (so its start fails) and starts one on the new host; the start then
   * is that move's, not an error.
   */
  async start(relayUrl: string): Promise<void> {
    this.url = relayUrl;
    try {
      await this.startOn(relayUrl);
    } catch (err) {
      if (!this.move || this.stopping) throw err;
      this.log.info({ from: relayUrl, to: this.newestUrl }, "the local mesh moved while the conductor started; starting it on the new host");
      // Moves queue: one to a host that gave way to a newer one ends without a conductor.
      for (let move = this.moving; move && !this.stopping; move = this.moving) await move;
      if (!this.conductor) throw err;
    }
  }

  /** The relay the conductor runs on (or is moving to). */
  get relayUrl(): string | undefined {
    return this.url;
  }

  /** The conductor object as it is now, started or not (status, peer-store reads); undefined during a move. */
  get now(): Conductor | undefined {
    return this.conductor;
  }

  /** The move under way or queued, if any. */
  get moving(): Promise<void> | undefined {
    return this.move;
  }

  /**
   * The conductor, for a call. While it moves to a new host the call waits for the move, up to
   * hostMoveWaitMs; a move still trying after that is a 503.
   */
  async current(): Promise<Conductor> {
    // During a move the new conductor object exists before it is ready, so wait on the move itself.
    if (this.move) await Promise.race([this.move, sleep(hostMoveWaitMs, undefined, { signal: this.stopped.signal, ref: false }).catch(() => {})]);
    if (this.conductor && !this.move) return this.conductor;
    throw new DaemonNotReadyError("the conductor is not running: it is restarting on the local mesh's new host, or that restart failed", "retry in a minute; if it persists, see the conductor log in DATA_DIR/<network>/logs/ and restart the node");
  }

  /**
   * A zome call on the current conductor (waiting for a move as `current` does). A read that fails
   * because a move stopped its conductor while it ran ("client closed with pending requests") is
   * asked again once, of the conductor on the new host.
   */
  async callZome<T>(req: ZomeCallRequest): Promise<T> {
    const conductor = await this.current();
    try {
      return await conductor.callZome<T>(req);
    } catch (err) {
      if (!READ_FN.test(req.fn) || this.stopping || (this.conductor === conductor && !this.move)) throw err;
      // A move is queued or done: wait for it; one that left the conductor as it was (the same host)
      // means the read failed on its own, and its error stands.
      const moved = await this.current();
      if (moved === conductor) throw err;
      this.log.debug({ fn: req.fn, err: (err as Error).message }, "a read was cut off by a conductor move; asking the moved conductor");
      return moved.callZome<T>(req);
    }
  }

  /** Moves are queued: a second host change waits for the first move to finish (or give way). */
  moveTo(url: string): Promise<void> {
    this.newestUrl = url;
    // Cleared inside the chain, so that whoever sees `move` settle also sees it cleared.
    const move: Promise<void> = (this.move ?? Promise.resolve()).then(() => this.restartOn(url)).finally(() => {
      if (this.move === move) this.move = undefined;
    });
    this.move = move;
    return move;
  }

  /** No move starts or tries again from now on, and waits for one end (the session is stopping). */
  haltMoves(): void {
    this.stopping = true;
    this.stopped.abort();
  }

  async stop(): Promise<void> {
    this.haltMoves();
    // A move under way may still start a conductor: let it finish so that this stop reaches it.
    await this.move;
    await this.conductor?.stop();
  }

  /** Assigned before its start, so that a stop during the start reaches it. */
  private async startOn(relayUrl: string): Promise<void> {
    this.conductor = this.create(relayUrl);
    await this.conductor.start();
  }

  /**
   * A start that fails (it stops its own process) is tried again (hostMoveRetryMs) until it works,
   * the node stops, or the mesh announces yet another host, whose queued move then takes over.
   */
  private async restartOn(url: string): Promise<void> {
    if (this.stopping || url === this.url) return;
    this.log.info({ from: this.url, to: url }, "the local mesh moved to another host; restarting the conductor on it");
    this.moves++;
    this.url = url;
    const old = this.conductor;
    this.conductor = undefined;
    await old?.stop();
    for (let attempt = 1; !this.stopping && this.newestUrl === url; attempt++) {
      try {
        await this.startOn(url);
        this.onMoved(url);
        return;
      } catch (err) {
        this.conductor = undefined;
        const retryInMs = hostMoveRetryMs[Math.min(attempt, hostMoveRetryMs.length) - 1]!;
        this.log.error({ err, attempt, retryInMs }, "could not restart the conductor on the new host; trying again");
        await sleep(retryInMs, undefined, { signal: this.stopped.signal }).catch(() => {});
      }
    }
  }
}
