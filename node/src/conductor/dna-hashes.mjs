// DNA hashes of a hApp bundle as a given mesh would install it: unpack the hApp, set the mesh's
// network seed in each DNA manifest, repack, and hash with `hc-dna hash`. This is exactly what
// the conductor computes at install, without starting one (and without joining any network).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { binDir } from "../config/paths.mjs";

/**
 * @param {string} happFile
 * @param {string} networkSeed
 * @returns {Promise<Record<string, string>>} role name → DNA hash (base64, `uhC0k…`)
 */
export async function dnaHashesFor(happFile, networkSeed) {
  const work = mkdtempSync(join(tmpdir(), "ripple-dna-hash-"));
  try {
    // Setup and the daemon both call this; a failing tool rejects with its stderr in the message.
    const hc = (/** @type {string} */ tool, /** @type {string[]} */ args) => promisify(execFile)(join(binDir(), tool), args, { maxBuffer: 16 * 1024 * 1024 });
    await hc("hc-app", ["unpack", happFile, "-o", join(work, "app")]);
    const happ = parse(readFileSync(join(work, "app", "happ.yaml"), "utf8"));
    /** @type {Record<string, string>} */
    const hashes = {};
    for (const role of happ.roles) {
      const dir = join(work, role.name);
      await hc("hc-dna", ["unpack", join(work, "app", role.dna.path), "-o", dir]);
      const manifestFile = join(dir, "dna.yaml");
      const manifest = parse(readFileSync(manifestFile, "utf8"));
      manifest.integrity.network_seed = networkSeed;
      writeFileSync(manifestFile, stringify(manifest));
      await hc("hc-dna", ["pack", dir, "-o", join(dir, "seeded.dna")]);
      const { stdout } = await hc("hc-dna", ["hash", join(dir, "seeded.dna")]);
      hashes[role.name] = stdout.trim();
    }
    return hashes;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
