// The binding handshake (/ripple-mesh/binding/1.0.0): on every new connection each side asks the
// other for its peer binding — {agent, agent_signature, peer_signature}, base64 — and verifies it
// against the connection's noise-AUTHENTICATED remote peer id (a claimed id would prove nothing).
//
//   verifies            → the peer is bound (peer id → agent key); onBound.
//   does not verify     → warn, refuse, close every connection to it and deny it for a cooldown:
//   (wrong signer, other   a node that presents someone else's agent key is lying, not slow.
//   peer id, garbage)
//   "not-ready"         → its binding is not set yet (a first start takes ~60 s): ask again every
//                         few seconds for notReadyRetryMs, then close without denying. A responder
//                         answers not-ready after bindingWaitMs (short), never holds the question.
//   no answer at all    → it stalls the handshake while holding a connection: cut at the attempt
//   within the attempt    deadline and denied for stallCooldownMs.
//   deadline
//   stream cut short    → retry a few times, then close without denying (a busy or restarting node).
//
// Peers count as bound only after this; requests from others reach bound-only protocols as refusals.
import { peerIdFromString } from "@libp2p/peer-id";
import type { Connection, Libp2p, Stream } from "@libp2p/interface";
import { agentPubKeySchema, peerBindingProblem, signatureSchema } from "@ripple-mesh/zome-bindings";
import { z } from "zod";
import type { Logger } from "../log.ts";
import { settlesWithin } from "../waits.ts";
import type { BoundPeers } from "./bound-peers.ts";
import { FrameError, JsonRefusal, requestJsonOver, serveJson } from "./json-stream.ts";
import { P2pMessageTooLargeError, P2pProtocolError, P2pRemoteError } from "./p2p-errors.ts";
import { TimeoutError } from "../errors.ts";
import type { PeerDenyList } from "./peer-deny-list.ts";

export const bindingProtocol = "/ripple-mesh/binding/1.0.0";

/** This node's binding: the agent key, its signature of our peer id, and our libp2p key's signature of the agent key. */
export interface LocalBinding {
  agentPubKey: Uint8Array;
  agentSignature: Uint8Array;
  peerSignature: Uint8Array;
}

export interface HandshakeTimings {
  /** How long the responder waits for setBinding before answering not-ready (short: the asker asks again). */
  bindingWaitMs: number;
  /** Deadline of one attempt. A peer that has not answered by then (not even not-ready) is cut and denied. */
  attemptTimeoutMs: number;
  /** Attempts cut short (stream reset, closed early) before closing the peer's connections without denying it. */
  attempts: number;
  retryDelayMs: number;
  /** How long a peer answering not-ready is asked again before its connections are closed (not denied). */
  notReadyRetryMs: number;
  /** Pause between two questions to a peer that answered not-ready. */
  notReadyDelayMs: number;
  /** How long a peer whose binding does not verify is kept out. */
  denyCooldownMs: number;
  /** How long a peer that stalled the handshake (or kept using bound-only protocols unbound) is kept out. */
  stallCooldownMs: number;
}

export const defaultHandshakeTimings: HandshakeTimings = {
  // An honest node answers at once, or not-ready after this; nothing sits on the question.
  bindingWaitMs: 1_000,
  // bindingWaitMs plus room for a loaded machine (2 cores running a conductor and a model).
  attemptTimeoutMs: 10_000,
  attempts: 3,
  retryDelayMs: 1_000,
  // A first start (conductor, agent key, binding) takes about 60 s; a slow one up to ~2 minutes.
  notReadyRetryMs: 180_000,
  notReadyDelayMs: 3_000,
  denyCooldownMs: 5 * 60_000,
  stallCooldownMs: 2 * 60_000,
};

export interface HandshakeListener {
  bound(peerId: string, agentPubKey: Uint8Array): void;
  /** denied: the binding did not verify (cooldown applies); false when the peer just never answered. */
  refused(peerId: string, reason: string, denied: boolean): void;
}

// Sizes: an AgentPubKey is 39 bytes (52 base64 chars), a signature 64 bytes (88 chars).
const base64Bytes = (maxChars: number) =>
  z
    .string()
    .max(maxChars)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64")
    .transform((s): Uint8Array => new Uint8Array(Buffer.from(s, "base64")));

const bindingAnswerSchema = z.strictObject({
  agent: base64Bytes(64).pipe(agentPubKeySchema),
  agent_signature: base64Bytes(100).pipe(signatureSchema),
  peer_signature: base64Bytes(100).pipe(signatureSchema),
});

/** The binding answer is tiny; anything bigger is not a binding. */
const ANSWER_MAX_BYTES = 1024;
const REQUEST_MAX_BYTES = 64;
const RESPONDER_READ_TIMEOUT_MS = 10_000;

export class BindingHandshake {
  private binding: LocalBinding | undefined;
  private readonly bindingWaiters = new Set<() => void>();
  /** Handshakes under way: peer id → resolves to whether the peer ended up bound. */
  private readonly inFlight = new Map<string, Promise<boolean>>();
  /** Peers verified on their current connections (cleared when the last one closes). */
  private readonly verified = new Set<string>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly libp2p: Libp2p,
    private readonly peers: BoundPeers,
    private readonly denyList: PeerDenyList,
    private readonly listener: HandshakeListener,
    private readonly log: Logger,
    private readonly timings: HandshakeTimings = defaultHandshakeTimings,
  ) {}

  /** Call before libp2p starts listening, so no connection arrives before the responder exists. */
  async start(): Promise<void> {
    await this.libp2p.handle(bindingProtocol, (stream) => this.respond(stream), { maxInboundStreams: 4, maxOutboundStreams: 4 });
    this.libp2p.addEventListener("connection:open", this.onConnectionOpen);
    this.libp2p.addEventListener("peer:disconnect", this.onPeerDisconnect);
  }

  stop(): void {
    this.stopping.abort(new Error("the p2p node is stopping"));
    this.libp2p.removeEventListener("connection:open", this.onConnectionOpen);
    this.libp2p.removeEventListener("peer:disconnect", this.onPeerDisconnect);
    for (const wake of this.bindingWaiters) wake();
  }

  setBinding(binding: LocalBinding): void {
    this.binding = { agentPubKey: Uint8Array.from(binding.agentPubKey), agentSignature: Uint8Array.from(binding.agentSignature), peerSignature: Uint8Array.from(binding.peerSignature) };
    for (const wake of this.bindingWaiters) wake();
  }

  /** Verified on its current connection(s): its requests may use bound-only protocols. */
  isVerified(peerId: string): boolean {
    return this.verified.has(peerId);
  }

  /** A handshake with the peer is under way (including asking again a peer that answered not-ready). */
  isRunning(peerId: string): boolean {
    return this.inFlight.has(peerId);
  }

  /** Whether the peer is verified, after waiting up to waitMs for a handshake under way. */
  async settle(peerId: string, waitMs: number): Promise<boolean> {
    const running = this.inFlight.get(peerId);
    if (running && !this.verified.has(peerId)) {
      await settlesWithin(running, waitMs);
    }
    return this.verified.has(peerId);
  }

  // ---- responder ----

  private async respond(stream: Stream): Promise<void> {
    await serveJson(stream, {
      maxBytes: REQUEST_MAX_BYTES,
      // The question is `{}`: a peer that does not send it at once is not asking.
      readTimeoutMs: RESPONDER_READ_TIMEOUT_MS,
      signal: this.stopping.signal,
      handle: async () => {
        const binding = await this.waitForBinding(stream);
        if (!binding) throw new JsonRefusal("not-ready", `this node's peer binding is not set yet (waited ${this.timings.bindingWaitMs} ms)`);
        return {
          agent: Buffer.from(binding.agentPubKey).toString("base64"),
          agent_signature: Buffer.from(binding.agentSignature).toString("base64"),
          peer_signature: Buffer.from(binding.peerSignature).toString("base64"),
        };
      },
    });
  }

  /** The binding once set; undefined after bindingWaitMs, when the asker hangs up or the node stops. */
  private async waitForBinding(stream: Stream): Promise<LocalBinding | undefined> {
    if (this.binding || this.stopping.signal.aborted) return this.binding;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.bindingWaiters.delete(wake);
        stream.removeEventListener("close", wake);
        resolve();
      };
      const timer = setTimeout(wake, this.timings.bindingWaitMs);
      this.bindingWaiters.add(wake);
      stream.addEventListener("close", wake);
    });
    return this.binding;
  }

  // ---- initiator ----

  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    const connection = evt.detail;
    const peer = connection.remotePeer.toString();
    if (this.denyList.isDenied(peer)) {
      // The gater keeps denied peers out; this covers a connection that was already being upgraded.
      connection.abort(new Error("peer is denied"));
      return;
    }
    if (this.verified.has(peer) || this.inFlight.has(peer)) return; // one handshake per peer, not per connection
    const run = this.verify(peer)
      .catch((err: unknown) => {
        this.log.error({ peer, err: (err as Error).message }, "binding handshake failed unexpectedly");
        return false;
      })
      .finally(() => this.inFlight.delete(peer));
    this.inFlight.set(peer, run);
  };

  private readonly onPeerDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
    this.verified.delete(evt.detail.toString());
  };

  private openConnection(peer: string): Connection | undefined {
    return this.libp2p.getConnections(peerIdFromString(peer)).find((c) => c.status === "open");
  }

  private async verify(peer: string): Promise<boolean> {
    const { attempts, attemptTimeoutMs, retryDelayMs, notReadyRetryMs, notReadyDelayMs } = this.timings;
    const started = Date.now();
    let lastProblem = "no attempt was made";
    let cutShort = 0;
    let asked = 0;
    let notReady = 0;
    for (;;) {
      if (this.stopping.signal.aborted) return false;
      const connection = this.openConnection(peer);
      if (!connection) return false; // gone; its next connection starts a new handshake
      asked++;
      let answer: unknown;
      try {
        answer = await requestJsonOver(
          (signal) => connection.newStream(bindingProtocol, { signal }),
          { peerId: peer, protocol: bindingProtocol },
          {},
          { timeoutMs: attemptTimeoutMs, maxBytes: ANSWER_MAX_BYTES, signal: this.stopping.signal },
        );
      } catch (err) {
        if (this.stopping.signal.aborted) return false;
        lastProblem = (err as Error).message;
        // An answer that arrived and is wrong is a lie, not a delay.
        if ((err instanceof P2pProtocolError && !isTruncated(err)) || err instanceof P2pMessageTooLargeError) {
          await this.refuse(peer, `its binding answer is not usable: ${lastProblem}`, this.timings.denyCooldownMs);
          return false;
        }
        // Nothing at all within the deadline, not even not-ready: it holds the connection and stalls.
        if (err instanceof TimeoutError && this.openConnection(peer)) {
          await this.refuse(peer, `it did not answer the binding handshake within ${attemptTimeoutMs} ms (stalled)`, this.timings.stallCooldownMs);
          return false;
        }
        if (err instanceof P2pRemoteError && err.code === "not-ready") {
          notReady++;
          if (Date.now() - started + notReadyDelayMs > notReadyRetryMs) break;
          this.log.debug({ peer, asked }, "peer's binding is not ready yet; asking again");
          await delay(notReadyDelayMs, this.stopping.signal);
          continue;
        }
        // A stream cut short proves nothing about the peer: a busy or restarting node does that.
        cutShort++;
        this.log.debug({ peer, attempt: cutShort, err: lastProblem }, "peer did not present its binding yet");
        // A libp2p node that does not speak the protocol will not learn it by being asked again.
        if (hasCause(err, "UnsupportedProtocolError") || cutShort >= attempts) break;
        await delay(retryDelayMs, this.stopping.signal);
        continue;
      }
      const problem = await this.check(peer, answer);
      if (problem) {
        await this.refuse(peer, problem, this.timings.denyCooldownMs);
        return false;
      }
      return true;
    }
    if (this.stopping.signal.aborted || !this.openConnection(peer)) return false;
    const what = notReady > 0 && cutShort === 0 ? `answered not-ready ${notReady} times in ${Date.now() - started} ms` : `${cutShort} attempt${cutShort === 1 ? "" : "s"}`;
    await this.refuse(peer, `it did not present a peer binding (${what}; last: ${lastProblem})`, undefined);
    return false;
  }

  /** Denies a peer for cooldownMs and closes its connections (e.g. it keeps using bound-only protocols unbound). */
  async deny(peer: string, reason: string, cooldownMs: number): Promise<void> {
    await this.refuse(peer, reason, cooldownMs);
  }

  /** Verifies the answer and binds the peer; returns why it does not verify. */
  private async check(peer: string, answer: unknown): Promise<string | undefined> {
    const parsed = bindingAnswerSchema.safeParse(answer);
    if (!parsed.success) return `its binding answer has the wrong shape: ${z.prettifyError(parsed.error)}`;
    const { agent, agent_signature, peer_signature } = parsed.data;
    let problem: string | null;
    try {
      // peer_id is the noise-authenticated id of the connection, never a claimed one.
      problem = await peerBindingProblem({ peer_id: peer, agent_signature, peer_signature }, agent);
    } catch (err) {
      problem = `its binding cannot be checked: ${(err as Error).message}`;
    }
    if (problem) return problem;
    this.peers.bind(peer, agent);
    // Only a peer still connected counts as verified; otherwise its next connection verifies again.
    if (this.openConnection(peer)) this.verified.add(peer);
    this.log.info({ peer, agent: Buffer.from(agent).toString("base64") }, "peer binding verified");
    this.listener.bound(peer, agent);
    return undefined;
  }

  /** cooldownMs: deny for that long; undefined: close only (it may just be starting). */
  private async refuse(peer: string, reason: string, cooldownMs: number | undefined): Promise<void> {
    const deny = cooldownMs !== undefined;
    if (deny) {
      this.denyList.deny(peer, cooldownMs, reason);
      this.log.warn({ peer, reason, cooldownMs }, "refusing peer: closing its connections and denying it");
    } else {
      this.log.warn({ peer, reason }, "closing the connections of a peer that presented no binding (not denied)");
    }
    this.peers.forget(peer);
    this.verified.delete(peer);
    // Told before the connections close, so listeners see the refusal before the disconnect.
    this.listener.refused(peer, reason, deny);
    // A denied peer's connections are cut at once: a graceful close would keep reading what it
    // already pushed on every stream it opened (each stream's first 256 KiB yamux window) for as long
    // as the close takes.
    if (deny) {
      this.abortConnections(peer, `denied: ${reason}`);
      return;
    }
    try {
      await this.libp2p.hangUp(peerIdFromString(peer), { signal: AbortSignal.timeout(5_000) });
    } catch (err) {
      this.log.debug({ peer, err: (err as Error).message }, "closing the refused peer's connections failed");
      this.abortConnections(peer, `refused: ${reason}`);
    }
  }

  private abortConnections(peer: string, why: string): void {
    for (const c of this.libp2p.getConnections(peerIdFromString(peer))) c.abort(new Error(why));
  }
}

function hasCause(err: unknown, name: string): boolean {
  for (let e = err as { name?: string; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e.name === name) return true;
  }
  return false;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** The answer stream ended inside (or before) its first frame. */
function isTruncated(err: P2pProtocolError): boolean {
  return err.cause instanceof FrameError && /^the stream ended after \d+ bytes, inside a frame/.test(err.cause.message);
}
