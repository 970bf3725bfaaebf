// Admission of one inbound request stream, BEFORE any of its request is read: the peer's stream
// budget (peer-budget.ts), then who it is. A bound-only protocol decides the sender first: the
// stream is paused (nothing read, and yamux grants the peer no more window), a handshake under way
// gets a short grace, and an unbound peer is answered "unbound" without its body being read. An
// unbound peer that keeps doing that is denied. Refusals are written, then the stream is reset.
import type { Stream } from "@libp2p/interface";
import type { Logger } from "../log.ts";
import { settlesWithin } from "../waits.ts";
import type { BindingHandshake } from "./binding-handshake.ts";
import type { BoundPeers } from "./bound-peers.ts";
import { encodeJson, JsonRefusal, writeFrame } from "./json-stream.ts";
import type { RemoteErrorCode } from "./p2p-errors.ts";
import type { PeerBudgets, StreamLease } from "./peer-budget.ts";

/** Time to hand a refusal to the muxer before the stream is reset anyway. */
const REFUSAL_WRITE_MS = 2_000;
/** How long a refused stream is kept (unread, paused) for the peer to read the refusal and close. */
const REFUSAL_LINGER_MS = 1_000;

export interface RequestSender {
  peerId: string;
  /** Set when the peer's binding verified: the Holochain agent that speaks through this peer id. */
  agentPubKey?: Uint8Array;
}

export interface Admission {
  sender: RequestSender;
  /** Release when the exchange is over; its reserve() bounds the request bytes the peer holds. */
  lease: StreamLease;
}

export interface InboundGateOptions {
  handshake: BindingHandshake;
  bound: BoundPeers;
  budgets: PeerBudgets;
  /** How long a bound-only request waits for the requester's handshake under way. */
  unboundGraceMs: number;
  /** How long a peer that keeps using bound-only protocols unbound is denied. */
  denyCooldownMs: number;
  log: Logger;
}

export class InboundGate {
  constructor(private readonly opts: InboundGateOptions) {}

  /** The admitted sender and its lease, or undefined when the stream was refused (and reset). */
  async admit(protocol: string, stream: Stream, peerId: string, allowUnbound: boolean): Promise<Admission | undefined> {
    const { budgets } = this.opts;
    if (!allowUnbound && !this.opts.handshake.isVerified(peerId)) pause(stream);
    const lease = budgets.openStream(peerId);
    if (!lease) {
      pause(stream);
      const max = budgets.limits.maxStreamsPerPeer;
      await refuseUnread(stream, "busy", `${peerId} already has ${max} request streams open at this node (all protocols); retry when some finish`);
      return undefined;
    }
    try {
      return { sender: await this.sender(protocol, stream, peerId, allowUnbound, lease), lease };
    } catch (err) {
      lease.release();
      if (err instanceof JsonRefusal) await refuseUnread(stream, err.code, err.message);
      else stream.abort(err as Error);
      return undefined;
    }
  }

  private async sender(protocol: string, stream: Stream, peerId: string, allowUnbound: boolean, lease: StreamLease): Promise<RequestSender> {
    const { handshake } = this.opts;
    if (handshake.isVerified(peerId)) return this.verifiedSender(peerId);
    if (allowUnbound) return { peerId };
    // A bound-only request may race the requester's handshake with us: give that a moment, unread.
    if (handshake.isRunning(peerId) && lease.startWaiting()) {
      try {
        await handshake.settle(peerId, this.opts.unboundGraceMs);
      } finally {
        lease.stopWaiting();
      }
      if (handshake.isVerified(peerId)) {
        resume(stream);
        return this.verifiedSender(peerId);
      }
    }
    this.strike(peerId, protocol);
    throw new JsonRefusal("unbound", `${protocol} serves only peers with a verified binding, and ${peerId} has none`);
  }

  private verifiedSender(peerId: string): RequestSender {
    const agentPubKey = this.opts.bound.get(peerId)?.agentPubKey;
    return agentPubKey ? { peerId, agentPubKey } : { peerId };
  }

  private strike(peerId: string, protocol: string): void {
    if (!this.opts.budgets.strikeUnbound(peerId)) return;
    const { unboundStrikes, strikeWindowMs } = this.opts.budgets.limits;
    const reason = `it sent ${unboundStrikes} requests to bound-only protocols (last: ${protocol}) within ${strikeWindowMs} ms without a verified binding`;
    this.opts.budgets.forget(peerId);
    void this.opts.handshake.deny(peerId, reason, this.opts.denyCooldownMs).catch((err: unknown) => {
      this.opts.log.debug({ peer: peerId, err: (err as Error).message }, "denying an unbound peer failed");
    });
  }
}

/**
 * Answers with a coded refusal without reading the request: what arrives is dropped unread, and the
 * stream (paused: the peer gets no more window) is reset once the peer closes it or after a linger.
 * The linger lets the refusal reach a client still finishing protocol negotiation: an immediate
 * reset would overtake it there.
 */
export async function refuseUnread(stream: Stream, code: RemoteErrorCode, message: string): Promise<void> {
  const closed = new Promise<void>((resolve) => stream.addEventListener("close", () => resolve(), { once: true }));
  try {
    await stream.closeRead();
    await writeFrame(stream, encodeJson({ ok: false, code, error: message.slice(0, 1000) }), AbortSignal.timeout(REFUSAL_WRITE_MS));
    await stream.close({ signal: AbortSignal.timeout(REFUSAL_WRITE_MS) });
    await settlesWithin(closed, REFUSAL_LINGER_MS);
  } catch {
    // the peer is gone or not reading: the reset below is all it gets
  }
  stream.abort(new Error(`refused (${code}) before reading the request`));
}

/** Stop reading and stop granting the peer yamux window, until resume(). */
function pause(stream: Stream): void {
  try {
    stream.pause();
  } catch {
    // already closing: nothing more will be read anyway
  }
}

function resume(stream: Stream): void {
  try {
    stream.resume();
  } catch {
    // closed while waiting: the read that follows reports it
  }
}
