// The layout of one node's data directory. Holochain's in-process lair puts a socket under
// `conductor/`, and socket paths must stay under 108 bytes, so that name is kept short.
import { join } from "node:path";

export interface NodePaths {
  dataDir: string;
  /** Holochain's `data_root_path` (databases, lair keystore). */
  conductorData: string;
  conductorConfig: string;
  /** Lair passphrase; 0600. */
  lairPassphrase: string;
  /** Zome-call signing credentials per cell; 0600. */
  signingCredentials: string;
  /** The node's libp2p Ed25519 private key (protobuf); 0600. */
  libp2pKey: string;
  logDir: string;
}

export function nodePaths(dataDir: string): NodePaths {
  return {
    dataDir,
    conductorData: join(dataDir, "hc"),
    conductorConfig: join(dataDir, "conductor-config.yaml"),
    lairPassphrase: join(dataDir, "lair-passphrase"),
    signingCredentials: join(dataDir, "signing-credentials.json"),
    libp2pKey: join(dataDir, "libp2p-key"),
    logDir: join(dataDir, "logs"),
  };
}
