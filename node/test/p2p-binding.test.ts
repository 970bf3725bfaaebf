// The binding handshake refuses peers whose binding does not verify against their authenticated
// peer id: it says why, closes their connections, never lists them as bound, and denies redials
// for the cooldown. A peer that is not ready is asked again, then closed but not denied.
import "../src/p2p/polyfill.ts";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { identify } from "@libp2p/identify";
import { noise } from "@libp2p/noise";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { peerBindingMessage, signAgentBinding } from "@ripple-mesh/zome-bindings";
import { createLibp2p, type Libp2p } from "libp2p";
import { afterEach, describe as suite, expect, it } from "vitest";
import { bindingProtocol, type LocalBinding } from "../src/p2p/binding-handshake.ts";
import { describe, makeIdentity, startNode, waitFor, type TestNode } from "./p2p-helpers.ts";

type Refusal = { peerId: string; reason: string; denied: boolean };

function refusalsOf(t: TestNode, peerId: string): Refusal[] {
  return t.events.filter((e) => e.name === "peer:refused").map((e) => e.detail as Refusal).filter((r) => r.peerId === peerId);
}

/** Starts an honest node and a node presenting `forged`, connects them, and checks the honest side refuses it. */
async function expectRefused(forged: (victim: Awaited<ReturnType<typeof makeIdentity>>, liar: Awaited<ReturnType<typeof makeIdentity>>) => Promise<LocalBinding>, reasonPattern: RegExp) {
  const honest = await startNode("honest");
  const liarId = await makeIdentity();
  const victim = await makeIdentity();
  const liar = await startNode("liar", { id: liarId, binding: await forged(victim, liarId) });
  const liarPeer = liar.node.peerId;

  await liar.node.dial(honest.node.multiaddrs()[0]!);
  await waitFor("the honest node to refuse the liar", () => refusalsOf(honest, liarPeer).length > 0, { diagnose: () => [honest, liar].map(describe) });
  const [refusal] = refusalsOf(honest, liarPeer);
  expect(refusal!.denied).toBe(true);
  expect(refusal!.reason).toMatch(reasonPattern);
  // The warning names the peer and the reason.
  expect(honest.lines).toContainEqual(expect.objectContaining({ level: 40, peer: liarPeer, reason: refusal!.reason }));

  await waitFor("the liar's connection to close", () => !honest.node.connectedPeers().includes(liarPeer) && !liar.node.connectedPeers().includes(honest.node.peerId), {
    diagnose: () => [honest, liar].map(describe),
  });
  expect(honest.node.boundPeers().map((p) => p.peerId)).not.toContain(liarPeer);
  expect(honest.events.filter((e) => e.name === "peer:bound")).toEqual([]);
  expect(honest.node.isDenied(liarPeer)).toBe(true);

  // Redials are denied both ways for the cooldown: the honest node will not dial the liar…
  const liarAddr = liar.node.multiaddrs()[0]!;
  await expect(honest.node.dial(`${liarAddr}/p2p/${liarPeer}`)).rejects.toThrow();
  await expect(honest.node.dial(liarAddr)).rejects.toThrow();
  // …and drops the liar's inbound connection once noise has authenticated it.
  await liar.node.dial(honest.node.multiaddrs()[0]!).catch(() => undefined);
  await waitFor("the liar's redial to be dropped", () => !liar.node.connectedPeers().includes(honest.node.peerId), { diagnose: () => [honest, liar].map(describe) });
  expect(honest.node.connectedPeers()).not.toContain(liarPeer);
  expect(honest.node.boundPeers().map((p) => p.peerId)).not.toContain(liarPeer);
  expect(refusalsOf(honest, liarPeer)).toHaveLength(1); // denied at the gate, no second handshake
  return { honest, liar };
}

suite("p2p binding handshake", () => {
  it("refuses a node whose agent_signature was made by another agent key (it claims someone else's agent)", async () => {
    await expectRefused(
      async (victim, liar) => ({
        agentPubKey: victim.agentPubKey,
        // The liar cannot sign with the victim's agent key, so it signs with its own.
        agentSignature: await liar.agentKey.sign(peerBindingMessage(liar.peerId)),
        peerSignature: await signAgentBinding(liar.libp2pKey, victim.agentPubKey),
      }),
      /agent_signature/,
    );
  });

  it("refuses a node replaying another node's whole binding (signatures for another peer id)", async () => {
    await expectRefused(async (victim) => victim.binding, /agent_signature/);
  });

  it("refuses a node whose peer_signature was made by another libp2p key", async () => {
    await expectRefused(
      async (_victim, liar) => {
        const otherLibp2pKey = await generateKeyPair("Ed25519");
        return { ...liar.binding, peerSignature: await signAgentBinding(otherLibp2pKey, liar.agentPubKey) };
      },
      /peer_signature/,
    );
  });

  it("refuses a binding answer of the wrong shape (a 10-byte agent key)", async () => {
    await expectRefused(async (_victim, liar) => ({ ...liar.binding, agentPubKey: liar.agentPubKey.subarray(0, 10) }), /wrong shape.*agent/s);
  });

  describe_garbage();

  it("a responder whose binding is not set yet answers not-ready at once; the asker asks again and binds it once it is set", async () => {
    const honest = await startNode("honest", { handshake: { notReadyDelayMs: 200 } });
    const late = await startNode("late", { binding: undefined, handshake: { bindingWaitMs: 100 } });
    await late.node.dial(honest.node.multiaddrs()[0]!);
    // The late node binds the honest one at once; the honest node's question to it is answered not-ready.
    await waitFor("the late node to bind the honest node", () => late.node.boundPeers().length === 1, { diagnose: () => [honest, late].map(describe) });
    await waitFor("the honest node to hear not-ready twice", () => honest.lines.filter((l) => l.msg === "peer's binding is not ready yet; asking again").length >= 2, {
      diagnose: () => [honest, late].map(describe),
    });
    expect(honest.node.boundPeers()).toEqual([]);
    expect(honest.node.isDenied(late.node.peerId)).toBe(false);
    late.node.setBinding(late.id.binding);
    await waitFor("the honest node to bind the late node", () => honest.node.boundPeers().length === 1, { diagnose: () => [honest, late].map(describe) });
    expect(Buffer.from(honest.node.boundPeers()[0]!.agentPubKey)).toEqual(Buffer.from(late.id.agentPubKey));
    // Not-ready is not a failure: no attempt counted as failed and nothing was refused.
    expect(honest.lines.filter((l) => l.msg === "peer did not present its binding yet")).toEqual([]);
    expect(honest.events.map((e) => e.name)).toEqual(["peer:bound"]);
  });

  it("closes, but does not deny, a peer that stays not-ready past the retry window", async () => {
    const honest = await startNode("honest", { handshake: { notReadyRetryMs: 1_000, notReadyDelayMs: 100 } });
    // No binding: its responder answers not-ready after bindingWaitMs.
    const silent = await startNode("silent", { binding: undefined, handshake: { bindingWaitMs: 50 } });
    await silent.node.dial(honest.node.multiaddrs()[0]!);
    await waitFor("the honest node to give up on the silent peer", () => refusalsOf(honest, silent.node.peerId).length > 0, {
      diagnose: () => [honest, silent].map(describe),
    });
    const [refusal] = refusalsOf(honest, silent.node.peerId);
    expect(refusal!.denied).toBe(false);
    expect(refusal!.reason).toMatch(/did not present a peer binding \(answered not-ready \d+ times in \d+ ms; last: .*not-ready/);
    await waitFor("the silent peer's connection to close", () => !honest.node.connectedPeers().includes(silent.node.peerId));
    expect(honest.node.isDenied(silent.node.peerId)).toBe(false);
    expect(honest.node.boundPeers()).toEqual([]);

    // Not denied: once it has a binding, it can come back and is bound.
    silent.node.setBinding(silent.id.binding);
    await honest.node.dial(`${silent.node.multiaddrs()[0]}/p2p/${silent.node.peerId}`);
    await waitFor("the peer to be bound after it set its binding", () => honest.node.boundPeers().some((p) => p.peerId === silent.node.peerId), {
      diagnose: () => [honest, silent].map(describe),
    });
  });
});

/** A plain libp2p node with none of our protocols (tests give it bad ones). */
function bareLibp2p(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  });
}

function describe_garbage() {
  let raw: Libp2p | undefined;
  afterEach(async () => {
    await raw?.stop();
    raw = undefined;
  });

  it("refuses a peer that answers the binding request with garbage instead of JSON", async () => {
    const honest = await startNode("honest");
    // A bare libp2p node that speaks the binding protocol badly: a well-framed answer that is not JSON.
    raw = await bareLibp2p();
    const garbage = new TextEncoder().encode("{not json at all");
    await raw.handle(bindingProtocol, (stream) => {
      stream.send(Uint8Array.from([garbage.length, ...garbage]));
      void stream.close();
    });
    const rawPeer = raw.peerId.toString();
    await raw.dial(multiaddr(honest.node.multiaddrs()[0]!));
    await waitFor("the honest node to refuse the garbage peer", () => refusalsOf(honest, rawPeer).length > 0, { diagnose: () => describe(honest) });
    const [refusal] = refusalsOf(honest, rawPeer);
    expect(refusal!.denied).toBe(true);
    expect(refusal!.reason).toMatch(/not UTF-8 JSON/);
    await waitFor("the garbage peer's connection to close", () => !honest.node.connectedPeers().includes(rawPeer) && raw!.getConnections().length === 0);
    expect(honest.node.isDenied(rawPeer)).toBe(true);
    expect(honest.node.boundPeers()).toEqual([]);
  });

  it("closes, without denying, a libp2p node that does not speak the binding protocol (no retries)", async () => {
    const honest = await startNode("honest");
    raw = await bareLibp2p();
    const rawPeer = raw.peerId.toString();
    await raw.dial(multiaddr(honest.node.multiaddrs()[0]!));
    await waitFor("the honest node to give up on the foreign node", () => refusalsOf(honest, rawPeer).length > 0, { diagnose: () => describe(honest) });
    const [refusal] = refusalsOf(honest, rawPeer);
    expect(refusal!.denied).toBe(false);
    // Asking again would not teach it the protocol: one attempt, not the default three.
    expect(refusal!.reason).toMatch(/\(1 attempt; last: .*could not negotiate/);
    await waitFor("the foreign node's connection to close", () => !honest.node.connectedPeers().includes(rawPeer));
    expect(honest.node.isDenied(rawPeer)).toBe(false);
  });
}
