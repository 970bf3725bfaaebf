//! Binding between a node's libp2p identity and its Holochain agent key. Two signatures make the
//! binding checkable anywhere (also off the DHT, e.g. in a libp2p handshake):
//! the agent key signs `PEER_BINDING_CONTEXT ‖ peer_id`, and the libp2p key signs
//! `AGENT_BINDING_CONTEXT ‖ agent key (39 bytes)`. Only Ed25519 peer ids (`12D3KooW…`) are accepted,
//! because their public key is inside the id.
use hdi::prelude::*;
use ripple_integrity_common::*;

pub const PEER_BINDING_CONTEXT: &[u8] = b"ripple-mesh/peer-binding/v1:";
pub const AGENT_BINDING_CONTEXT: &[u8] = b"ripple-mesh/agent-binding/v1:";
pub const MAX_PEER_ID_LEN: usize = 64;
pub const MAX_MULTIADDRS: usize = 16;
pub const MAX_MULTIADDR_LEN: usize = 256;

#[derive(Serialize, Deserialize, SerializedBytes, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PeerBinding {
    /// base58btc libp2p peer id of an Ed25519 key.
    pub peer_id: String,
    pub multiaddrs: Vec<String>,
    /// Agent key's signature over `PEER_BINDING_CONTEXT ‖ peer_id`.
    pub agent_signature: Signature,
    /// libp2p key's signature over `AGENT_BINDING_CONTEXT ‖ agent key`.
    pub peer_signature: Signature,
}

pub fn peer_binding_message(peer_id: &str) -> Vec<u8> {
    [PEER_BINDING_CONTEXT, peer_id.as_bytes()].concat()
}

pub fn agent_binding_message(agent: &AgentPubKey) -> Vec<u8> {
    [AGENT_BINDING_CONTEXT, agent.get_raw_39()].concat()
}

/// The Ed25519 public key inside a libp2p peer id: base58btc of the identity multihash
/// (0x00, 36) of the protobuf PublicKey {Type: Ed25519 (0x08 0x01), Data: 32 bytes (0x12 0x20 …)}.
pub fn ed25519_key_of_peer_id(peer_id: &str) -> Result<[u8; 32], String> {
    let bytes = bs58::decode(peer_id).into_vec().map_err(|e| format!("peer_id is not base58btc: {e}"))?;
    match bytes.as_slice() {
        [0x00, 0x24, 0x08, 0x01, 0x12, 0x20, key @ ..] if key.len() == 32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(key);
            Ok(out)
        }
        _ => Err("peer_id must be the id of an Ed25519 libp2p key (12D3KooW…)".into()),
    }
}

pub fn validate_peer_binding(agent: &AgentPubKey, binding: &PeerBinding) -> ExternResult<ValidateCallbackResult> {
    if let Some(reason) = bad_label("peer.peer_id", &binding.peer_id, MAX_PEER_ID_LEN)
        .or_else(|| too_many("peer.multiaddrs", &binding.multiaddrs, MAX_MULTIADDRS))
        .or_else(|| binding.multiaddrs.iter().find_map(|a| bad_label("peer.multiaddrs[]", a, MAX_MULTIADDR_LEN)))
        .or_else(|| binding.multiaddrs.iter().find(|a| !a.starts_with('/')).map(|a| format!("peer.multiaddrs[] must be a multiaddr starting with '/', got {a:?}")))
    {
        return invalid(reason);
    }
    let peer_key = match ed25519_key_of_peer_id(&binding.peer_id) {
        Ok(key) => AgentPubKey::from_raw_32(key.to_vec()),
        Err(reason) => return invalid(reason),
    };
    if !verify_signature_raw(agent.clone(), binding.agent_signature.clone(), peer_binding_message(&binding.peer_id))? {
        return invalid("peer.agent_signature is not the agent key's signature of this peer id");
    }
    if !verify_signature_raw(peer_key, binding.peer_signature.clone(), agent_binding_message(agent))? {
        return invalid("peer.peer_signature is not the libp2p key's signature of this agent key");
    }
    Ok(ValidateCallbackResult::Valid)
}
