// Holochain 0.7's `databases/db.key`: the conductor's database key (32 bytes) and salt (16 bytes),
// locked with the lair passphrase (holochain_data/src/key.rs): base64url(nonce ‖ secretbox(key) ‖ salt)
// where the secretbox key is Argon2id(passphrase, salt, MODERATE). Writing it ourselves lets the
// daemon hand a new conductor a wasm database already encrypted under that conductor's own key.
// Argon2id MODERATE takes 256 MiB: it runs in a short-lived worker so that the memory is returned.
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { RippleError } from "../errors.ts";

const NONCE = 24;
const BOXED_KEY = 32 + 16;
const SALT = 16;
export const DB_KEY_FILE_BYTES = NONCE + BOXED_KEY + SALT;

export interface DbKey {
  key: Buffer;
  salt: Buffer;
}

// Plain JS evaluated in the worker (no TypeScript loader there).
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const sodium = require(workerData.sodiumPath);
sodium.ready.then(() => {
  const d = workerData;
  const secret = sodium.crypto_pwhash(32, Buffer.from(d.passphrase, "utf8"), d.salt, sodium.crypto_pwhash_OPSLIMIT_MODERATE, sodium.crypto_pwhash_MEMLIMIT_MODERATE, sodium.crypto_pwhash_ALG_ARGON2ID13);
  try {
    const out = d.op === "lock" ? sodium.crypto_secretbox_easy(d.key, d.nonce, secret) : sodium.crypto_secretbox_open_easy(d.boxed, d.nonce, secret);
    parentPort.postMessage({ ok: Buffer.from(out) });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
}, (err) => parentPort.postMessage({ error: String(err) }));
`;

function inWorker(data: Record<string, unknown>): Promise<Buffer> {
  const sodiumPath = createRequire(import.meta.url).resolve("libsodium-wrappers-sumo");
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerSource, { eval: true, workerData: { ...data, sodiumPath } });
    worker.once("message", (m: { ok?: Uint8Array; error?: string }) => {
      void worker.terminate();
      if (m.ok) resolve(Buffer.from(m.ok));
      else reject(new RippleError(`db.key: ${m.error}`, "the passphrase does not open this db.key; restore the data directory's lair-passphrase"));
    });
    worker.once("error", reject);
  });
}

export function newDbKey(): DbKey {
  return { key: randomBytes(32), salt: randomBytes(SALT) };
}

/** The contents of a db.key file holding k, locked with passphrase. */
export async function lockDbKey(k: DbKey, passphrase: string): Promise<string> {
  const nonce = randomBytes(NONCE);
  const boxed = await inWorker({ op: "lock", passphrase, salt: k.salt, nonce, key: k.key });
  return Buffer.concat([nonce, boxed, k.salt]).toString("base64url");
}

/** The key and salt inside a db.key file's contents. */
export async function unlockDbKey(locked: string, passphrase: string): Promise<DbKey> {
  const bytes = Buffer.from(locked.trim(), "base64url");
  if (bytes.length !== DB_KEY_FILE_BYTES) {
    throw new RippleError(`db.key holds ${bytes.length} bytes, not ${DB_KEY_FILE_BYTES}`, "this is not a Holochain 0.7 db.key");
  }
  const salt = bytes.subarray(NONCE + BOXED_KEY);
  const key = await inWorker({ op: "unlock", passphrase, salt, nonce: bytes.subarray(0, NONCE), boxed: bytes.subarray(NONCE, NONCE + BOXED_KEY) });
  return { key, salt: Buffer.from(salt) };
}
