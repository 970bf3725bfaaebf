// The machine's compiled-wasm cache. Installing the hApp makes a conductor compile every zome
// (~26 CPU-s here, most of a node's first start); the result lands in its encrypted
// `databases/wasm.db`. The cache keeps one such database *decrypted* — it holds only the public
// hApp's wasm, its compiled modules and the DNA definitions of a throwaway agent — and a new
// conductor gets a copy encrypted under a fresh key of its own, locked with its own lair passphrase
// in the db.key it would otherwise have created itself. No secret is shared between nodes.
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, closeSync, createReadStream, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../config/paths.mjs";
import { lockDbKey, newDbKey, type DbKey } from "./db-key.ts";
import { decryptPage, derivePageKey, encryptPage, SQLCIPHER_RESERVE } from "./sqlcipher-pages.ts";
import { openCommittedPages } from "./sqlite-wal.ts";
import { RippleError } from "../errors.ts";

export const WASM_DB = "wasm.db";
export const DB_KEY = "db.key";

const hashes = new Map<string, Promise<string>>();

/** sha256 of a file, remembered for this process while its size and mtime stay the same. */
function sha256OfFile(file: string): Promise<string> {
  const st = statSync(file);
  const id = `${file}:${st.size}:${st.mtimeMs}`;
  let hash = hashes.get(id);
  if (!hash) {
    hash = hashFile(file);
    hashes.set(id, hash);
    hash.catch(() => hashes.delete(id));
  }
  return hash;
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (d) => hash.update(d))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}

/** Where the cache for this hApp compiled by this holochain binary lives (modules depend on both). */
export async function wasmCacheFile(happFile: string, holochainBinary: string, env = process.env): Promise<string> {
  const [happ, holochain] = await Promise.all([sha256OfFile(happFile), sha256OfFile(holochainBinary)]);
  return join(cacheDir(env), "wasm", `${happ.slice(0, 16)}-${holochain.slice(0, 16)}.db`);
}

/** True when the conductor in this data root has not created its databases yet. */
export function isFreshConductor(conductorData: string): boolean {
  return !existsSync(join(conductorData, "databases", DB_KEY));
}

/** Every this many pages (2 MiB) the page loops let the daemon's event loop run (pings, the API). */
const PAGES_PER_TURN = 512;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function writeAtomically(file: string, write: (fd: number) => Promise<void>, mode = 0o600): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "w", mode);
  try {
    await write(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
}

/**
 * Writes the committed content of an encrypted wasm.db (its log included) as a plain SQLite file.
 * Every page's HMAC is checked, so a wrong key or a damaged file never reaches the cache.
 */
export async function exportPlainWasmDb(databasesDir: string, key: DbKey, outFile: string): Promise<{ pages: number }> {
  const source = openCommittedPages(join(databasesDir, WASM_DB));
  try {
    const k = derivePageKey(key);
    mkdirSync(join(outFile, ".."), { recursive: true });
    await writeAtomically(outFile, async (fd) => {
      for (let pgno = 1; pgno <= source.pageCount; pgno++) {
        if (pgno % PAGES_PER_TURN === 0) await nextTurn();
        const plain = decryptPage(k, source.read(pgno), pgno);
        if (pgno === 1) {
          if (plain[20] !== SQLCIPHER_RESERVE) throw new RippleError(`wasm.db reserves ${plain[20]} bytes per page, not ${SQLCIPHER_RESERVE}`, "this holochain encrypts differently; the cache is not used");
          // The header's page count is trusted by SQLite only while "version-valid-for" equals the change counter.
          plain.writeUInt32BE(source.pageCount, 28);
          plain.copy(plain, 92, 24, 28);
        }
        writeSync(fd, plain, 0, plain.length, (pgno - 1) * source.pageSize);
      }
    }, 0o644);
    return { pages: source.pageCount };
  } finally {
    source.close();
  }
}

/**
 * Gives a conductor that has never started the cached wasm database under a key of its own:
 * writes databases/wasm.db (encrypted) and databases/db.key (locked with its passphrase).
 */
export async function primeWasmDb(plainFile: string, conductorData: string, passphrase: string): Promise<{ pages: number }> {
  const databasesDir = join(conductorData, "databases");
  mkdirSync(databasesDir, { recursive: true, mode: 0o700 });
  const key = newDbKey();
  const k = derivePageKey(key);
  // A wasm.db without a db.key is left by an interrupted prime: no key opens it.
  removeWasmDb(databasesDir);
  const source = openCommittedPages(plainFile);
  try {
    const declared = source.read(1).readUInt32BE(28);
    if (declared !== source.pageCount) {
      throw new RippleError(`the wasm cache ${plainFile} holds ${source.pageCount} pages but declares ${declared}`, `delete ${plainFile}; the next start compiles it again`);
    }
    await writeAtomically(join(databasesDir, WASM_DB), async (fd) => {
      for (let pgno = 1; pgno <= source.pageCount; pgno++) {
        if (pgno % PAGES_PER_TURN === 0) await nextTurn();
        const page = encryptPage(k, source.read(pgno), pgno);
        writeSync(fd, page, 0, page.length, (pgno - 1) * source.pageSize);
      }
    });
    // db.key last: without it the conductor would make a new key and could not read the wasm.db above.
    const locked = await lockDbKey(key, passphrase);
    writeFileSync(join(databasesDir, DB_KEY), locked, { mode: 0o600 });
    chmodSync(join(databasesDir, DB_KEY), 0o600);
  } catch (err) {
    removeWasmDb(databasesDir);
    throw err;
  } finally {
    source.close();
  }
  return { pages: source.pageCount };
}

/** Removes a wasm.db that no db.key opens (the conductor then starts a new one and compiles). */
export function removeWasmDb(databasesDir: string): void {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(join(databasesDir, WASM_DB + suffix), { force: true });
}
