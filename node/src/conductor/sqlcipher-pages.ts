// Page-level SQLCipher 4 codec, as Holochain 0.7 configures it (holochain_data/src/key.rs): a raw
// 32-byte key with a separate 16-byte salt, `cipher_compatibility = 4`, a 32-byte plaintext header.
// Each page is AES-256-CBC over its usable bytes, followed by its IV (16 bytes) and an HMAC-SHA512
// (64 bytes) of ciphertext ‖ IV ‖ page number (little-endian); the HMAC key is
// PBKDF2-HMAC-SHA512(key, salt XOR 0x3a, 2 iterations, 32 bytes). Page 1 keeps its first 32 bytes
// in clear. Used to move a compiled-wasm database from one conductor's key to another's
// (conductor/wasm-cache.ts) without a shared secret.
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { RippleError } from "../errors.ts";

const IV_BYTES = 16;
const HMAC_BYTES = 64;
/** IV + HMAC: the reserve SQLCipher 4 keeps at the end of every page. */
export const SQLCIPHER_RESERVE = IV_BYTES + HMAC_BYTES;
const PLAINTEXT_HEADER = 32;

export interface PageKey {
  key: Buffer;
  salt: Buffer;
}

interface DerivedKey {
  cipherKey: Buffer;
  hmacKey: Buffer;
}

export function derivePageKey({ key, salt }: PageKey): DerivedKey {
  if (key.length !== 32 || salt.length !== 16) throw new RippleError("a SQLCipher key is 32 bytes with a 16-byte salt", "pass the key and salt from the conductor's db.key");
  const hmacSalt = Buffer.from(salt.map((b) => b ^ 0x3a));
  return { cipherKey: key, hmacKey: pbkdf2Sync(key, hmacSalt, 2, 32, "sha512") };
}

function pageMac(k: DerivedKey, body: Buffer, pgno: number): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32LE(pgno);
  return createHmac("sha512", k.hmacKey).update(body).update(n).digest();
}

/** The plaintext of one encrypted page; throws when its HMAC does not match (wrong key or damage). */
export function decryptPage(k: DerivedKey, page: Buffer, pgno: number): Buffer {
  const size = page.length;
  const offset = pgno === 1 ? PLAINTEXT_HEADER : 0;
  const end = size - SQLCIPHER_RESERVE;
  const mac = pageMac(k, page.subarray(offset, end + IV_BYTES), pgno);
  if (!timingSafeEqual(mac, page.subarray(end + IV_BYTES, end + IV_BYTES + HMAC_BYTES))) {
    throw new RippleError(`page ${pgno} of the encrypted database fails its HMAC`, "the key does not belong to this database, or the file is damaged: let the conductor compile the wasm itself");
  }
  const decipher = createDecipheriv("aes-256-cbc", k.cipherKey, page.subarray(end, end + IV_BYTES)).setAutoPadding(false);
  const out = Buffer.alloc(size);
  page.copy(out, 0, 0, offset);
  Buffer.concat([decipher.update(page.subarray(offset, end)), decipher.final()]).copy(out, offset);
  return out;
}

/** One page encrypted under k; the plaintext page must already reserve SQLCIPHER_RESERVE bytes. */
export function encryptPage(k: DerivedKey, plain: Buffer, pgno: number): Buffer {
  const size = plain.length;
  const offset = pgno === 1 ? PLAINTEXT_HEADER : 0;
  const end = size - SQLCIPHER_RESERVE;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-cbc", k.cipherKey, iv).setAutoPadding(false);
  const out = Buffer.alloc(size);
  plain.copy(out, 0, 0, offset);
  Buffer.concat([cipher.update(plain.subarray(offset, end)), cipher.final()]).copy(out, offset);
  iv.copy(out, end);
  pageMac(k, out.subarray(offset, end + IV_BYTES), pgno).copy(out, end + IV_BYTES);
  return out;
}
