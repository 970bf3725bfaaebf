// Holochain 0.7's `databases/db.key`: the conductor's database key (32 bytes) and salt (16 bytes),
// locked with the lair passphrase (holochain_data/src/key.rs): base64url(nonce ‖ secretbox(key) ‖ salt)
// where the secretbox key is Argon2id(passphrase, salt, MODERATE). Writing it ourselves lets the
// daemon hand a new conductor a wasm database already encrypted under that conductor's own key.
//
// Argon2id: @node-rs/argon2 (the RustCrypto argon2 crate, prebuilt), on libuv's thread pool with its
// 256 MiB freed when done: ~0.4-0.7 s here against 1.4 s for libsodium's wasm build in a worker,
// byte-identical (node/test/wasm-cache-units.test.ts checks the parameters against libsodium's
// MODERATE constants). secretbox (XSalsa20-Poly1305): @noble/ciphers, which is NaCl-compatible.
import { randomBytes } from "node:crypto";
import { hashRaw, type Options as Argon2Options } from "@node-rs/argon2";
import { xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { RippleError } from "../errors.ts";

const NONCE = 24;
const BOXED_KEY = 32 + 16;
const SALT = 16;
export const DB_KEY_FILE_BYTES = NONCE + BOXED_KEY + SALT;

/** libsodium's crypto_pwhash_OPSLIMIT_MODERATE / MEMLIMIT_MODERATE, as sodoken (lair, Holochain) uses them. */
export const ARGON2ID_MODERATE = { timeCost: 3, memoryBytes: 268_435_456 };

export interface DbKey {
  key: Buffer;
  salt: Buffer;
}

/** The secretbox key: Argon2id v1.3 of the passphrase and salt, MODERATE limits. */
export async function passphraseSecret(passphrase: string, salt: Uint8Array): Promise<Uint8Array> {
  return hashRaw(Buffer.from(passphrase, "utf8"), {
    salt: Buffer.from(salt),
    timeCost: ARGON2ID_MODERATE.timeCost,
    memoryCost: ARGON2ID_MODERATE.memoryBytes / 1024,
    parallelism: 1,
    outputLen: 32,
    // Algorithm.Argon2id and Version.V0x13: const enums, which this build's isolated modules cannot import.
    algorithm: 2,
    version: 1,
  } as Argon2Options);
}

export function newDbKey(): DbKey {
  return { key: randomBytes(32), salt: randomBytes(SALT) };
}

/** The contents of a db.key file holding k, locked with passphrase. */
export async function lockDbKey(k: DbKey, passphrase: string): Promise<string> {
  const nonce = randomBytes(NONCE);
  const boxed = xsalsa20poly1305(await passphraseSecret(passphrase, k.salt), nonce).encrypt(k.key);
  return Buffer.concat([nonce, boxed, k.salt]).toString("base64url");
}

/** The key and salt inside a db.key file's contents. */
export async function unlockDbKey(locked: string, passphrase: string): Promise<DbKey> {
  const bytes = Buffer.from(locked.trim(), "base64url");
  if (bytes.length !== DB_KEY_FILE_BYTES) {
    throw new RippleError(`db.key holds ${bytes.length} bytes, not ${DB_KEY_FILE_BYTES}`, "this is not a Holochain 0.7 db.key");
  }
  const salt = bytes.subarray(NONCE + BOXED_KEY);
  const secret = await passphraseSecret(passphrase, salt);
  let key: Uint8Array;
  try {
    key = xsalsa20poly1305(secret, bytes.subarray(0, NONCE)).decrypt(bytes.subarray(NONCE, NONCE + BOXED_KEY));
  } catch (err) {
    throw new RippleError(`db.key: ${(err as Error).message}`, "the passphrase does not open this db.key; restore the data directory's lair-passphrase");
  }
  return { key: Buffer.from(key), salt: Buffer.from(salt) };
}
