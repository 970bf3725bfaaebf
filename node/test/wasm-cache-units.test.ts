// The pieces that move a compiled-wasm database from one conductor's key to another's, without a
// conductor: Holochain's db.key format (Argon2id + secretbox), the SQLCipher 4 page codec, and
// priming a data directory from a plain cache file (nothing half-written is left when it fails).
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ARGON2ID_MODERATE, DB_KEY_FILE_BYTES, lockDbKey, newDbKey, passphraseSecret, unlockDbKey } from "../src/conductor/db-key.ts";
import { decryptPage, derivePageKey, encryptPage, SQLCIPHER_RESERVE } from "../src/conductor/sqlcipher-pages.ts";
import { openCommittedPages } from "../src/conductor/sqlite-wal.ts";
import { exportPlainWasmDb, primeWasmDb } from "../src/conductor/wasm-cache.ts";
import { pruneWasmCaches } from "../src/conductor/wasm-cache-build.ts";

const dir = mkdtempSync("/tmp/rm-wasm-units-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A plain SQLite database whose pages reserve SQLCipher's 80 bytes, as the cache file does. */
function plainDb(file: string, rows: number): void {
  const sql = [
    `PRAGMA page_size=4096;`,
    `CREATE TABLE Wasm (hash BLOB PRIMARY KEY, code BLOB NOT NULL);`,
    `.filectrl reserve_bytes ${SQLCIPHER_RESERVE}`,
    `VACUUM;`,
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ${rows}) INSERT INTO Wasm SELECT randomblob(32), randomblob(3000) FROM n;`,
  ].join("\n");
  execFileSync("sqlite3", [file], { input: sql });
  expect(readFileSync(file)[20]).toBe(SQLCIPHER_RESERVE);
}

describe("db.key (Holochain 0.7's locked database key)", () => {
  it("locks a key with a passphrase and opens only with that passphrase", async () => {
    const k = newDbKey();
    const locked = await lockDbKey(k, "correct horse");
    expect(Buffer.from(locked, "base64url").length).toBe(DB_KEY_FILE_BYTES);
    const opened = await unlockDbKey(locked, "correct horse");
    expect(opened.key.equals(k.key) && opened.salt.equals(k.salt)).toBe(true);
    await expect(unlockDbKey(locked, "wrong horse")).rejects.toThrow(/db\.key.*Fix: the passphrase does not open/s);
    await expect(unlockDbKey(locked.slice(0, 40), "correct horse")).rejects.toThrow(/holds 30 bytes, not 88/);
  });

  it("derives the secretbox key as libsodium's crypto_pwhash does (Argon2id v1.3, MODERATE), which lair and Holochain use", async () => {
    // libsodium-wrappers-sumo 0.8.4: crypto_pwhash(32, "correct horse battery staple", salt 00..0f,
    // OPSLIMIT_MODERATE (3), MEMLIMIT_MODERATE (268435456), ALG_ARGON2ID13).
    expect(ARGON2ID_MODERATE).toEqual({ timeCost: 3, memoryBytes: 268_435_456 });
    const salt = Uint8Array.from({ length: 16 }, (_, i) => i);
    expect(Buffer.from(await passphraseSecret("correct horse battery staple", salt)).toString("hex")).toBe("aad608b5866cef907f47d5cae529ed01a91301c92c5d5fef46e1a65e394e5742");
  });
});

describe("SQLCipher 4 pages", () => {
  const page = Buffer.alloc(4096);
  page.write("SQLite format 3\0", 0, "latin1");
  for (let i = 16; i < 4096 - SQLCIPHER_RESERVE; i++) page[i] = i % 251;
  const a = derivePageKey(newDbKey());
  const b = derivePageKey(newDbKey());

  it("round-trips a page, keeps page 1's first 32 bytes in clear, and binds the page number", () => {
    const one = encryptPage(a, page, 1);
    expect(one.subarray(0, 32).equals(page.subarray(0, 32))).toBe(true);
    expect(one.subarray(32, 64).equals(page.subarray(32, 64))).toBe(false);
    expect(decryptPage(a, one, 1).subarray(0, 4096 - SQLCIPHER_RESERVE).equals(page.subarray(0, 4096 - SQLCIPHER_RESERVE))).toBe(true);
    const seven = encryptPage(a, page, 7);
    expect(decryptPage(a, seven, 7).subarray(0, 4000).equals(page.subarray(0, 4000))).toBe(true);
    expect(() => decryptPage(a, seven, 8)).toThrow(/page 8 .* fails its HMAC/);
  });

  it("refuses another key and any changed byte", () => {
    const seven = encryptPage(a, page, 7);
    expect(() => decryptPage(b, seven, 7)).toThrow(/fails its HMAC.*Fix:/s);
    const tampered = Buffer.from(seven);
    tampered[100] = tampered[100]! ^ 1;
    expect(() => decryptPage(a, tampered, 7)).toThrow(/HMAC/);
  });
});

describe("priming a conductor's databases from the plain cache", () => {
  it("writes a wasm.db that only the new db.key opens, with the cache's content page for page", async () => {
    const cache = join(dir, "cache.db");
    plainDb(cache, 200);
    const conductorData = join(dir, "node-a");
    const { pages } = await primeWasmDb(cache, conductorData, "pass-a");
    const dbKeyFile = join(conductorData, "databases", "db.key");
    expect(statSync(dbKeyFile).mode & 0o777).toBe(0o600);
    const key = await unlockDbKey(readFileSync(dbKeyFile, "utf8"), "pass-a");

    // Decrypted again (as the cache fill does), it is the same database.
    const back = join(dir, "back.db");
    expect((await exportPlainWasmDb(join(conductorData, "databases"), key, back)).pages).toBe(pages);
    expect(execFileSync("sqlite3", [back, "PRAGMA integrity_check; SELECT count(*) FROM Wasm;"]).toString().trim().split("\n")).toEqual(["ok", "200"]);
    await expect(exportPlainWasmDb(join(conductorData, "databases"), newDbKey(), join(dir, "never.db"))).rejects.toThrow(/HMAC/);
    expect(existsSync(join(dir, "never.db"))).toBe(false);

    // A second node gets a different key for the same content.
    await primeWasmDb(cache, join(dir, "node-b"), "pass-b");
    const keyB = await unlockDbKey(readFileSync(join(dir, "node-b", "databases", "db.key"), "utf8"), "pass-b");
    expect(keyB.key.equals(key.key)).toBe(false);
  });

  it("reads the newest committed pages from a write-ahead log and ignores frames after the last commit", () => {
    const file = join(dir, "wal.db");
    plainDb(file, 10);
    // Keep sqlite3 from checkpointing on close so the log survives: copy the files while it still runs.
    const snapshot = join(dir, "wal-snapshot.db");
    execFileSync("sh", ["-c", `(printf 'PRAGMA journal_mode=WAL;\\nPRAGMA wal_autocheckpoint=0;\\nINSERT INTO Wasm SELECT randomblob(32), randomblob(3000) FROM Wasm;\\nPRAGMA cache_size=2;\\nBEGIN; DELETE FROM Wasm; INSERT INTO Wasm SELECT randomblob(32), randomblob(3000) FROM (SELECT 1 UNION SELECT 2 UNION SELECT 3);\\n'; sleep 1; cp ${file} ${snapshot}; cp ${file}-wal ${snapshot}-wal; printf 'ROLLBACK;\\n') | sqlite3 ${file} > /dev/null`]);
    const pages = openCommittedPages(snapshot);
    const out = join(dir, "wal-plain.db");
    const fd = openSync(out, "w");
    for (let p = 1; p <= pages.pageCount; p++) writeSync(fd, pages.read(p), 0, pages.pageSize, (p - 1) * pages.pageSize);
    closeSync(fd);
    pages.close();
    // The committed INSERT doubled the rows; the DELETE was never committed.
    expect(execFileSync("sqlite3", [out, "PRAGMA integrity_check; SELECT count(*) FROM Wasm;"]).toString().trim().split("\n")).toEqual(["ok", "20"]);
  });

  it("leaves neither wasm.db nor db.key behind when the cache file is damaged", async () => {
    const cache = join(dir, "short.db");
    plainDb(cache, 50);
    truncateSync(cache, statSync(cache).size - 100);
    const conductorData = join(dir, "node-c");
    await expect(primeWasmDb(cache, conductorData, "pass-c")).rejects.toThrow(/cut short/);
    const shortByAPage = join(dir, "short-page.db");
    plainDb(shortByAPage, 50);
    truncateSync(shortByAPage, statSync(shortByAPage).size - 4096);
    await expect(primeWasmDb(shortByAPage, conductorData, "pass-c")).rejects.toThrow(/holds \d+ pages but declares \d+/);
    expect(existsSync(join(conductorData, "databases", "wasm.db"))).toBe(false);
    expect(existsSync(join(conductorData, "databases", "db.key"))).toBe(false);
    writeFileSync(join(dir, "not-sqlite.db"), "hello");
    await expect(primeWasmDb(join(dir, "not-sqlite.db"), conductorData, "pass-c")).rejects.toThrow(/not an SQLite database/);
  });
});

describe("pruning the machine's compiled-wasm caches", () => {
  it("keeps the current cache and the most recently used others, deleting the rest with their side files", () => {
    const caches = mkdtempSync(join(tmpdir(), "rm-wasm-caches-"));
    try {
      const at = (name: string, minutesAgo: number) => {
        const file = join(caches, name);
        writeFileSync(file, "x");
        const t = new Date(Date.now() - minutesAgo * 60_000);
        utimesSync(file, t, t);
        return file;
      };
      const current = at("current.db", 500); // the oldest, but in use now
      at("recent.db", 1);
      at("older.db", 10);
      const stale = at("stale.db", 100);
      writeFileSync(`${stale}-wal`, "");
      writeFileSync(`${stale}-shm`, "");
      writeFileSync(join(caches, "not-a-cache.txt"), "");
      expect(pruneWasmCaches(caches, current, 3)).toEqual([stale]);
      expect(readdirSync(caches).sort()).toEqual(["current.db", "not-a-cache.txt", "older.db", "recent.db"]);
      expect(pruneWasmCaches(caches, current, 1).sort()).toEqual([join(caches, "older.db"), join(caches, "recent.db")]);
      expect(readdirSync(caches).sort()).toEqual(["current.db", "not-a-cache.txt"]);
    } finally {
      rmSync(caches, { recursive: true, force: true });
    }
  });
});
