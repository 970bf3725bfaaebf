// The node's libp2p identity: an Ed25519 key created once and kept (0600) in the data directory,
// so the peer id survives restarts like the agent key does.
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { RippleError } from "../errors.ts";

export async function loadOrCreateLibp2pKey(file: string): Promise<PrivateKey> {
  if (existsSync(file)) {
    try {
      return privateKeyFromProtobuf(readFileSync(file));
    } catch (e) {
      throw new RippleError(`${file} is not a libp2p private key (${(e as Error).message})`, `restore it from a backup, or delete it to give this node a new peer id`);
    }
  }
  const key = await generateKeyPair("Ed25519");
  writeFileSync(file, privateKeyToProtobuf(key), { mode: 0o600, flag: "wx" });
  return key;
}

export function peerIdOf(key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString();
}
