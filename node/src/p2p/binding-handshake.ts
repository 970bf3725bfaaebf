// The binding handshake (/ripple-mesh/binding/1.0.0): on every new connection each side asks the
// other for its peer binding — {agent, agent_signature, peer_signature}, base64 — and verifies it
// against the connection's noise-AUTHENTICATED remote peer id (a claimed id would prove nothing).
//
//   verifies            → the peer is bound (peer id → agent key); onBound.
//   does not verify     → warn, refuse, close every connection to it and deny it for a cooldown:
//   (wrong signer, other   a node that presents someone else's agent key is lying, not slow.
//   peer id, garbage)
//   no answer / not set → retry a few times, then close without denying (it may just be starting).
//
// Peers count as bound only after this; requests from others reach bound-only protocols as refusals.
import { peerIdFromString } from "@libp2p/peer-id";
import type { Connection, Libp2p, Stream } from "@libp2p/interface";
import { agentPubKeySchema, peerBindingProblem, signatureSchema } from "@ripple-mesh/zome-bindings";
import { z } from "zod";
import type { Logger } from "../log.ts";
import type { BoundPeers } from "./bound-peers.ts";
import { FrameError, JsonRefusal, requestJsonOver, serveJson } from "./json-stream.ts";
import { P2pMessageTooLargeError, P2pProtocolError } from "./p2p-errors.ts";
import type { PeerDenyList } from "./peer-deny-list.ts";

export const bindingProtocol = "/ripple-mesh/binding/1.0.0";

/** This node's binding: the agent key, its signature of our peer id, and our libp2p key's signature of the agent key. */
export interface LocalBinding {
  agentPubKey: Uint8Array;
  agentSignature: Uint8Array;
  peerSignature: Uint8Array;
}

export interface HandshakeTimings {
  /** How long the responder waits for setBinding before answering not-ready. */
  bindingWaitMs: number;
  /** Time limit of one attempt; above the remote's bindingWaitMs so a late binding is still seen. */
  attemptTimeoutMs: number;
  /** Attempts before closing an unresponsive peer's connections (without denying it). */
  attempts: number;
  retryDelayMs: number;
  /** How long a peer whose binding does not verify is kept out. */
  denyCooldownMs: number;
}

export const defaultHandshakeTimings: HandshakeTimings = {
  bindingWaitMs: 60_000,
  attemptTimeoutMs: 65_000,
  attempts: 3,
  retryDelayMs: 1_000,
  denyCooldownMs: 5 * 60_000,
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

  /** Whether the peer is verified, after waiting up to waitMs for a handshake under way. */
  async settle(peerId: string, waitMs: number): Promise<boolean> {
    const running = this.inFlight.get(peerId);
    if (running && !this.verified.has(peerId)) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
      clearTimeout(timer);
    }
    return this.verified.has(peerId);
  }

  // ---- responder ----

  private async respond(stream: Stream): Promise<void> {
    await serveJson(stream, {
      maxBytes: REQUEST_MAX_BYTES,
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
    const { attempts, attemptTimeoutMs, retryDelayMs } = this.timings;
    let lastProblem = "no attempt was made";
    let tried = 0;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      tried = attempt;
      if (this.stopping.signal.aborted) return false;
      const connection = this.openConnection(peer);
      if (!connection) return false; // gone; its next connection starts a new handshake
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
        // A stream cut short (nothing or part of a frame arrived) proves nothing about the peer: a
        // busy or restarting node does that. Only an answer that arrived and is wrong is denied.
        if ((err instanceof P2pProtocolError && !isTruncated(err)) || err instanceof P2pMessageTooLargeError) {
          await this.refuse(peer, `its binding answer is not usable: ${err.message}`, true);
          return false;
        }
        lastProblem = (err as Error).message;
        this.log.debug({ peer, attempt, err: lastProblem }, "peer did not present its binding yet");
        // A libp2p node that does not speak the protocol will not learn it by being asked again.
        if (hasCause(err, "UnsupportedProtocolError")) break;
        if (attempt < attempts) await delay(retryDelayMs, this.stopping.signal);
        continue;
      }
      const problem = await this.check(peer, answer);
      if (problem) {
        await this.refuse(peer, problem, true);
        return false;
      }
      return true;
    }
    if (this.stopping.signal.aborted || !this.openConnection(peer)) return false;
    await this.refuse(peer, `it did not present a peer binding (${tried} attempt${tried === 1 ? "" : "s"}; last: ${lastProblem})`, false);
    return false;
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

  private async refuse(peer: string, reason: string, deny: boolean): Promise<void> {
    if (deny) {
      this.denyList.deny(peer, this.timings.denyCooldownMs, reason);
      this.log.warn({ peer, reason, cooldownMs: this.timings.denyCooldownMs }, "refusing peer: its binding does not verify; closing its connections and denying it");
    } else {
      this.log.warn({ peer, reason }, "closing the connections of a peer that presented no binding (not denied)");
    }
    this.peers.forget(peer);
    this.verified.delete(peer);
    // Told before the connections close, so listeners see the refusal before the disconnect.
    this.listener.refused(peer, reason, deny);
    try {
      await this.libp2p.hangUp(peerIdFromString(peer), { signal: AbortSignal.timeout(5_000) });
    } catch (err) {
      this.log.debug({ peer, err: (err as Error).message }, "closing the refused peer's connections failed");
      for (const c of this.libp2p.getConnections(peerIdFromString(peer))) c.abort(new Error(`refused: ${reason}`));
    }
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
