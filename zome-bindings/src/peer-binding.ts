// The binding between a node's libp2p identity and its Holochain agent key, as the agent_registry
// integrity zome checks it (peer_binding.rs): the agent key signs PEER_BINDING_CONTEXT ‖ peer id,
// and the libp2p key signs AGENT_BINDING_CONTEXT ‖ agent key. Either side can verify it offline.
import { publicKeyFromRaw } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";

const encoder = new TextEncoder();
export const PEER_BINDING_CONTEXT = "ripple-mesh/peer-binding/v1:";
export const AGENT_BINDING_CONTEXT = "ripple-mesh/agent-binding/v1:";

export function peerBindingMessage(peerId: string): Uint8Array {
  return encoder.encode(PEER_BINDING_CONTEXT + peerId);
}

export function agentBindingMessage(agentPubKey: Uint8Array): Uint8Array {
  return new Uint8Array([...encoder.encode(AGENT_BINDING_CONTEXT), ...agentPubKey]);
}

/** The libp2p key's half of the binding: its signature over the agent key. */
export async function signAgentBinding(libp2pKey: PrivateKey, agentPubKey: Uint8Array): Promise<Uint8Array> {
  return libp2pKey.sign(agentBindingMessage(agentPubKey));
}

/** Why a binding does not verify, or null when both signatures do. */
export async function peerBindingProblem(
  binding: { peer_id: string; agent_signature: Uint8Array; peer_signature: Uint8Array },
  agentPubKey: Uint8Array,
): Promise<string | null> {
  let peerKey;
  try {
    peerKey = peerIdFromString(binding.peer_id).publicKey;
  } catch (e) {
    return `peer id ${binding.peer_id} is not a libp2p peer id: ${(e as Error).message}`;
  }
  if (peerKey?.type !== "Ed25519") return `peer id ${binding.peer_id} is not an Ed25519 key`;
  // An AgentPubKey is a 39-byte HoloHash whose bytes 3..35 are the Ed25519 public key.
  const agentKey = publicKeyFromRaw(agentPubKey.subarray(3, 35));
  if (!(await agentKey.verify(peerBindingMessage(binding.peer_id), binding.agent_signature))) {
    return "agent_signature is not the agent key's signature of this peer id";
  }
  if (!(await peerKey.verify(agentBindingMessage(agentPubKey), binding.peer_signature))) {
    return "peer_signature is not the libp2p key's signature of this agent key";
  }
  return null;
}
