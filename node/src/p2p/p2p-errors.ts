// Named errors of the libp2p seam. Timeouts use TimeoutError from ../errors.ts; everything else that
// can go wrong with one request/response exchange is a P2pRequestError, so callers can catch one class.
import { RippleError } from "../errors.ts";

/**
 * Why a peer's handler did not answer with a result (sent in the response envelope):
 * too-large: the request is larger than the server's maxBytes; bad-request: it is not JSON;
 * unbound: the protocol is bound-only and the requester has no verified binding;
 * not-ready: the server cannot answer yet (e.g. its own binding is not set); handler-error: the handler threw;
 * busy: the requester already holds as many streams or request bytes at this peer as it allows (peer-budget.ts).
 */
export const remoteErrorCodes = ["too-large", "bad-request", "unbound", "not-ready", "refused", "handler-error", "busy"] as const;
export type RemoteErrorCode = (typeof remoteErrorCodes)[number];

/** One request/response exchange with a peer failed (stream reset, closed early, dial failed…). */
export class P2pRequestError extends RippleError {
  constructor(
    readonly peerId: string,
    readonly protocol: string,
    detail: string,
    fix: string,
    options?: { cause?: unknown },
  ) {
    super(`request to ${peerId} on ${protocol} failed: ${detail}`, fix, options);
  }
}

/** A message (our request or the peer's response) is larger than the limit that applies to it. */
export class P2pMessageTooLargeError extends P2pRequestError {}

/** The peer answered with something that is not the protocol's envelope (not JSON, wrong shape). */
export class P2pProtocolError extends P2pRequestError {}

/** The peer answered with an error instead of a result. */
export class P2pRemoteError extends P2pRequestError {
  constructor(
    peerId: string,
    protocol: string,
    readonly code: RemoteErrorCode,
    readonly remoteMessage: string,
  ) {
    super(peerId, protocol, `the peer answered ${code}: ${remoteMessage}`, remoteFix(code));
  }
}

function remoteFix(code: RemoteErrorCode): string {
  switch (code) {
    case "too-large":
      return "send a smaller request (the peer's limit is in the message)";
    case "bad-request":
      return "send one length-prefixed JSON document";
    case "unbound":
      return "wait until both nodes have verified each other's peer binding (peer:bound), then retry";
    case "not-ready":
      return "retry shortly; the peer is still starting";
    case "refused":
      return "the peer's policy does not allow this request; the message says which rule";
    case "handler-error":
      return "see the peer's logs; the message says what its handler reported";
    case "busy":
      return "wait for this node's other requests to that peer to finish, then retry";
  }
}
