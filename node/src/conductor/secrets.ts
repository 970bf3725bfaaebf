// Secrets kept in the node's data directory with 0600 permissions: the lair passphrase and the
// zome-call signing credentials (one per cell, authorized once and reused across restarts).
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import type { CellId, SigningCredentials } from "@holochain/client";
import { encodeHashToBase64 } from "@holochain/client";
import { RippleError } from "../errors.ts";

function ensurePrivate(file: string): void {
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
}

/** The lair passphrase, created on first use. */
export function loadOrCreatePassphrase(file: string): string {
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
  ensurePrivate(file);
  const passphrase = readFileSync(file, "utf8").trim();
  if (!passphrase || passphrase.includes("\n")) {
    throw new RippleError(`${file} does not hold a one-line passphrase`, `restore it from a backup; without it the keystore in this data directory cannot be opened`);
  }
  return passphrase;
}

interface StoredCredentials {
  capSecret: string;
  publicKey: string;
  privateKey: string;
  signingKey: string;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

export function cellKey(cellId: CellId): string {
  return `${encodeHashToBase64(cellId[0])}:${encodeHashToBase64(cellId[1])}`;
}

function readAll(file: string): Record<string, StoredCredentials> {
  if (!existsSync(file)) return {};
  ensurePrivate(file);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, StoredCredentials>;
  } catch (cause) {
    throw new RippleError(`${file} is not valid JSON`, `delete it; the daemon authorizes new signing credentials on the next start`, { cause });
  }
}

export function loadSigningCredentials(file: string, cellId: CellId): SigningCredentials | undefined {
  const stored = readAll(file)[cellKey(cellId)];
  if (!stored) return undefined;
  return {
    capSecret: unb64(stored.capSecret),
    keyPair: { keyType: "ed25519", publicKey: unb64(stored.publicKey), privateKey: unb64(stored.privateKey) },
    signingKey: unb64(stored.signingKey),
  };
}

export function saveSigningCredentials(file: string, cellId: CellId, credentials: SigningCredentials): void {
  const all = readAll(file);
  all[cellKey(cellId)] = {
    capSecret: b64(credentials.capSecret),
    publicKey: b64(credentials.keyPair.publicKey),
    privateKey: b64(credentials.keyPair.privateKey),
    signingKey: b64(credentials.signingKey),
  };
  writeFileSync(file, JSON.stringify(all, null, 2) + "\n", { mode: 0o600 });
  ensurePrivate(file);
}
