use super::*;

/// Both ops of `author` writing its capability with `peer` as its binding.
fn check(w: &World, author: &TestAgent, peer: PeerBinding) -> [Op; 2] {
    let c = NodeCapability { peer, ..capability(author, &w.node_p2p) };
    w.create(author, EntryTypes::NodeCapability(c), 0)
}

const AGENT_SIGNATURE: &str = "peer.agent_signature is not the agent key's signature";
const PEER_SIGNATURE: &str = "peer.peer_signature is not the libp2p key's signature";
const NOT_ED25519: &str = "must be the id of an Ed25519 libp2p key";

#[test]
fn valid() {
    let w = world();
    expect_valid(check(&w, &w.node, binding(&w.node, &w.node_p2p)));
    expect_valid(check(&w, &w.other, binding(&w.other, &w.other_p2p)));
    // Nothing stops one libp2p key from vouching for several agents: its holder signed each.
    expect_valid(check(&w, &w.other, binding(&w.other, &w.node_p2p)));
}

#[test]
fn rejects_a_peer_signature_by_another_key() {
    let w = world();
    let peer_id = peer_id_of(&w.node_p2p);
    expect_invalid(check(&w, &w.node, binding_signed_by(&peer_id, &w.node, &w.other_p2p, &w.node.key)), &[PEER_SIGNATURE]);
    // Not even the agent key itself can stand in for the libp2p key.
    expect_invalid(check(&w, &w.node, binding_signed_by(&peer_id, &w.node, &w.node, &w.node.key)), &[PEER_SIGNATURE]);
}

#[test]
fn rejects_an_agent_signature_by_another_key() {
    let w = world();
    let peer_id = peer_id_of(&w.node_p2p);
    expect_invalid(check(&w, &w.node, binding_signed_by(&peer_id, &w.other, &w.node_p2p, &w.node.key)), &[AGENT_SIGNATURE]);
    // Nor may the libp2p key sign for the agent.
    expect_invalid(check(&w, &w.node, binding_signed_by(&peer_id, &w.node_p2p, &w.node_p2p, &w.node.key)), &[AGENT_SIGNATURE]);
}

/// Hijacking a peer id: another agent copies the node's binding whole, or signs the node's
/// peer id itself but can only copy the libp2p key's signature of the node's agent key.
#[test]
fn rejects_anothers_binding_replayed() {
    let w = world();
    expect_invalid(check(&w, &w.other, binding(&w.node, &w.node_p2p)), &[AGENT_SIGNATURE]);
    let half_forged = binding_signed_by(&peer_id_of(&w.node_p2p), &w.other, &w.node_p2p, &w.node.key);
    expect_invalid(check(&w, &w.other, half_forged), &[PEER_SIGNATURE]);
}

/// The peer id swapped for another key's, with or without the agent re-signing it.
#[test]
fn rejects_a_peer_id_of_another_key() {
    let w = world();
    let mut swapped = binding(&w.node, &w.node_p2p);
    swapped.peer_id = peer_id_of(&w.other_p2p);
    expect_invalid(check(&w, &w.node, swapped), &[AGENT_SIGNATURE]);
    let resigned = binding_signed_by(&peer_id_of(&w.other_p2p), &w.node, &w.node_p2p, &w.node.key);
    expect_invalid(check(&w, &w.node, resigned), &[PEER_SIGNATURE]);
}

/// Right keys, wrong messages: without the context prefixes, or over the 32-byte key.
#[test]
fn rejects_signatures_over_other_messages() {
    let w = world();
    let peer_id = peer_id_of(&w.node_p2p);
    let mut b = binding(&w.node, &w.node_p2p);
    b.agent_signature = w.node.sign_raw(peer_id.as_bytes());
    expect_invalid(check(&w, &w.node, b.clone()), &[AGENT_SIGNATURE]);
    // The two contexts keep one signature from passing for the other.
    b.agent_signature = w.node.sign_raw(&[AGENT_BINDING_CONTEXT, peer_id.as_bytes()].concat());
    expect_invalid(check(&w, &w.node, b.clone()), &[AGENT_SIGNATURE]);
    let mut b = binding(&w.node, &w.node_p2p);
    b.peer_signature = w.node_p2p.sign_raw(w.node.key.get_raw_39());
    expect_invalid(check(&w, &w.node, b.clone()), &[PEER_SIGNATURE]);
    b.peer_signature = w.node_p2p.sign_raw(&[AGENT_BINDING_CONTEXT, w.node.key.get_raw_32()].concat());
    expect_invalid(check(&w, &w.node, b.clone()), &[PEER_SIGNATURE]);
    b.peer_signature = w.node_p2p.sign_raw(&[PEER_BINDING_CONTEXT, w.node.key.get_raw_39()].concat());
    expect_invalid(check(&w, &w.node, b), &[PEER_SIGNATURE]);
}

#[test]
fn rejects_blank_signatures() {
    let w = world();
    let mut b = binding(&w.node, &w.node_p2p);
    b.peer_signature = Signature([0; 64]);
    expect_invalid(check(&w, &w.node, b.clone()), &[PEER_SIGNATURE]);
    b.agent_signature = Signature([0; 64]);
    expect_invalid(check(&w, &w.node, b), &[AGENT_SIGNATURE]);
}

/// Peer ids of other key types or malformed ones, each validly signed by the agent (the id
/// itself is what is wrong).
#[test]
fn rejects_a_peer_id_that_is_not_ed25519() {
    let w = world();
    let key = w.node_p2p.key.get_raw_32().to_vec();
    let cases = [
        // secp256k1 (`16Uiu2…`): protobuf {Type: 2, Data: 33 bytes} in an identity multihash.
        [&[0x00, 0x25, 0x08, 0x02, 0x12, 0x21, 0x02][..], &key].concat(),
        // RSA-style (`Qm…`): the sha256 multihash of the key, the key itself not inside.
        [&[0x12, 0x20][..], &key].concat(),
        // Ed25519 prefix, key one byte short or long.
        [&ED25519_PEER_ID_PREFIX[..], &key[..31]].concat(),
        [&ED25519_PEER_ID_PREFIX[..], &key, &[0][..]].concat(),
        // Ed25519 header behind a sha256 (0x12) instead of an identity (0x00) multihash.
        [&[0x12, 0x24, 0x08, 0x01, 0x12, 0x20][..], &key].concat(),
    ];
    for bytes in cases {
        let peer_id = base58(bytes);
        assert!(peer_id.len() <= MAX_PEER_ID_LEN, "{peer_id}");
        expect_invalid(check(&w, &w.node, binding_signed_by(&peer_id, &w.node, &w.node_p2p, &w.node.key)), &[NOT_ED25519]);
    }
}

#[test]
fn rejects_a_peer_id_that_is_not_base58() {
    let w = world();
    let peer_id = peer_id_of(&w.node_p2p);
    // '0', 'O', 'I' and 'l' are not in the bitcoin alphabet.
    for bad in [format!("{}0", &peer_id[..51]), peer_id.replacen('K', "O", 1), "12D3KooW-not-a-peer-id".to_string()] {
        expect_invalid(check(&w, &w.node, binding_signed_by(&bad, &w.node, &w.node_p2p, &w.node.key)), &["peer_id is not base58btc"]);
    }
}

#[test]
fn rejects_an_oversize_or_empty_peer_id() {
    let w = world();
    let long = "1".repeat(MAX_PEER_ID_LEN + 1);
    expect_invalid(check(&w, &w.node, binding_signed_by(&long, &w.node, &w.node_p2p, &w.node.key)), &["peer.peer_id", &format!("1..={MAX_PEER_ID_LEN} bytes"), &format!("got {}", MAX_PEER_ID_LEN + 1)]);
    expect_invalid(check(&w, &w.node, binding_signed_by("", &w.node, &w.node_p2p, &w.node.key)), &["peer.peer_id", "got 0"]);
}
