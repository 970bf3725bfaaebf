// A hostile libp2p peer for tests: a plain libp2p node (TCP + noise + yamux) that speaks our binding
// protocol the way a test wants — never answering ("stall"), answering not-ready at once, or with a
// real binding — and can open raw streams to push whatever bytes it likes.
import "../../src/p2p/polyfill.ts";
import { identify } from "@libp2p/identify";
import type { PrivateKey, Stream } from "@libp2p/interface";
import { noise } from "@libp2p/noise";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p, type Libp2p } from "libp2p";
import { bindingProtocol, type LocalBinding } from "../../src/p2p/binding-handshake.ts";
import { encodeJson } from "../../src/p2p/json-stream.ts";

export type RawBindingBehaviour = "stall" | "not-ready" | LocalBinding;

/** A length-prefixed frame (unsigned varint + payload), as json-stream.ts frames. */
export function frame(payload: Uint8Array): Uint8Array {
  const prefix: number[] = [];
  let n = payload.length;
  while (n >= 0x80) {
    prefix.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  prefix.push(n);
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix);
  out.set(payload, prefix.length);
  return out;
}

export async function startRawPeer(behaviour: RawBindingBehaviour, privateKey?: PrivateKey): Promise<Libp2p> {
  const node = await createLibp2p({
    ...(privateKey ? { privateKey } : {}),
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ maxOutboundStreams: 1024, streamOptions: { maxWriteBufferLength: 64 * 1024 * 1024 } })],
    services: { identify: identify() },
  });
  await node.handle(
    bindingProtocol,
    (stream) => {
      if (behaviour === "stall") return; // holds the question: never answers, never closes
      const answer =
        behaviour === "not-ready"
          ? { ok: false, code: "not-ready", error: "not yet" }
          : {
              ok: true,
              result: {
                agent: Buffer.from(behaviour.agentPubKey).toString("base64"),
                agent_signature: Buffer.from(behaviour.agentSignature).toString("base64"),
                peer_signature: Buffer.from(behaviour.peerSignature).toString("base64"),
              },
            };
      stream.send(frame(encodeJson(answer)));
      void stream.close().catch(() => {});
    },
    { maxInboundStreams: 64 },
  );
  return node;
}

export async function dialRaw(node: Libp2p, address: string): Promise<void> {
  await node.dial(multiaddr(address), { signal: AbortSignal.timeout(10_000) });
}

export interface RawOutcome {
  /** The JSON the server answered with, if a whole frame arrived. */
  answer?: { ok: boolean; code?: string; error?: string };
  /** How the stream ended otherwise (reset, closed, open failed). */
  error?: string;
  /** Bytes handed to the stream's send (what the muxer accepted; the peer may have dropped them). */
  sent: number;
}

/** Opens a stream on `protocol`, pushes `bytes` (chunked), and reads one answer frame while writing. */
export async function pushRaw(node: Libp2p, peerId: string, protocol: string, bytes: Uint8Array, timeoutMs: number): Promise<RawOutcome> {
  const signal = AbortSignal.timeout(timeoutMs);
  let stream: Stream;
  try {
    const conn = node.getConnections().find((c) => c.remotePeer.toString() === peerId && c.status === "open");
    if (!conn) return { error: "no open connection", sent: 0 };
    stream = await conn.newStream(protocol, { signal });
  } catch (err) {
    return { error: `open failed: ${(err as Error).message}`, sent: 0 };
  }
  const s = stream;
  let sent = 0;
  let failWrite: (err: Error) => void = () => {};
  const answer = new Promise<RawOutcome["answer"]>((resolve, reject) => {
    failWrite = reject;
    const chunks: Uint8Array[] = [];
    s.addEventListener("message", (evt) => {
      chunks.push(evt.data.subarray());
      const all = Buffer.concat(chunks);
      // Answers here are small: one-byte or two-byte varint prefix.
      let len = 0;
      let at = 0;
      for (let shift = 0; at < all.length; shift += 7) {
        const b = all[at++]!;
        len += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) break;
      }
      if (all.length >= at + len && len > 0) resolve(JSON.parse(all.subarray(at, at + len).toString("utf8")) as RawOutcome["answer"]);
    });
    s.addEventListener("close", (evt) => reject((evt as Event & { error?: Error }).error ?? new Error("closed without an answer")));
    signal.addEventListener("abort", () => reject(new Error("no answer in time")));
  });
  answer.catch(() => {});
  const writing = (async () => {
    for (let at = 0; at < bytes.length; at += 64 * 1024) {
      const chunk = bytes.subarray(at, Math.min(bytes.length, at + 64 * 1024));
      const more = s.send(chunk);
      sent += chunk.length;
      if (!more) await s.onDrain({ signal });
    }
  })();
  writing.catch((err: unknown) => failWrite(new Error(`write failed: ${(err as Error).message}`)));
  try {
    const got = await answer;
    s.abort(new Error("done"));
    return got ? { answer: got, sent } : { sent };
  } catch (err) {
    s.abort(err as Error);
    return { error: (err as Error).message, sent };
  }
}
