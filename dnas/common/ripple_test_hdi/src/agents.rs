//! Deterministic test agents whose keys really sign.
use ed25519_dalek::{Signer, SigningKey};
use hdi::prelude::*;

// --- agents -------------------------------------------------------------------------------

/// A deterministic agent: an ed25519 key pair from a seed byte, and its `AgentPubKey`
/// (whose raw 32 bytes are the ed25519 public key, as in Holochain).
#[derive(Clone, Debug)]
pub struct TestAgent {
    pub key: AgentPubKey,
    signing_key: SigningKey,
}

impl TestAgent {
    pub fn from_seed(seed: u8) -> Self {
        let signing_key = SigningKey::from_bytes(&[seed; 32]);
        let key = AgentPubKey::from_raw_32(signing_key.verifying_key().to_bytes().to_vec());
        Self { key, signing_key }
    }

    /// The agent's public key (the author of what it writes).
    pub fn pub_key(&self) -> AgentPubKey {
        self.key.clone()
    }

    /// Signs raw bytes (the counterpart of `verify_signature_raw`).
    pub fn sign_raw(&self, data: &[u8]) -> Signature {
        Signature(self.signing_key.sign(data).to_bytes())
    }

    /// Signs the msgpack encoding of `data`, as the conductor's keystore does (the counterpart
    /// of `hdi::prelude::verify_signature`).
    pub fn sign<T: Serialize + std::fmt::Debug>(&self, data: &T) -> Signature {
        self.sign_raw(&holochain_serialized_bytes::encode(data).expect("encode data to sign"))
    }

    /// Hashes and signs an action (the signature covers the encoded action, as in Holochain).
    pub fn sign_action(&self, action: Action) -> SignedActionHashed {
        let signature = self.sign(&action);
        SignedActionHashed::with_presigned(ActionHashed::from_content_sync(action), signature)
    }
}

/// The deterministic test agent for `seed`.
pub fn test_agent(seed: u8) -> TestAgent {
    TestAgent::from_seed(seed)
}
