// `holochain.install_dna`: a node runs only its pinned hApp (happ/ripple.happ, whose DNA hashes the
// testnet/mainnet pins check), and installs it itself when it joins a mesh. So a request to install
// anything else is refused with the reason; the pinned file itself (by content, wherever it lies) is
// answered with what the node already runs.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { happFile } from "../config/paths.mjs";
import { RippleError } from "../errors.ts";

/** A file this large is not a hApp bundle of this project (ripple.happ is a few MB). */
const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;

/** The path is not the pinned hApp: installing it is refused. */
export class DnaInstallRefusedError extends RippleError {}

export interface PinnedHappCheck {
  installed: true;
  path: string;
  pinnedHapp: string;
  sha256: string;
  note: string;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

const NODE_INSTALLS_ITSELF =
  "nothing to install: a Ripple node runs only its pinned hApp and installs it itself when it joins a mesh; to change the DNAs, change dnas/, rebuild with `npm run setup` and restart the node (`ripple down`, `ripple up`) — testnet/mainnet accept only the pinned DNA hashes";

export async function checkPinnedHapp(path: string, cwd = process.cwd()): Promise<PinnedHappCheck> {
  const asked = resolve(cwd, path);
  const info = await stat(asked).catch((err: NodeJS.ErrnoException) => {
    throw new DnaInstallRefusedError(`refused: there is no file at ${asked} (${err.code ?? err.message})`, NODE_INSTALLS_ITSELF);
  });
  if (!info.isFile()) throw new DnaInstallRefusedError(`refused: ${asked} is not a file`, NODE_INSTALLS_ITSELF);
  const pinned = await sha256Of(happFile).catch((err: unknown) => {
    throw new RippleError(`cannot read the pinned hApp ${happFile}`, "run `npm run setup` to build it", { cause: err });
  });
  const given = info.size > MAX_BUNDLE_BYTES ? "(not read: larger than any hApp bundle)" : await sha256Of(asked);
  if (given !== pinned) {
    throw new DnaInstallRefusedError(
      `refused: ${asked} is not this node's pinned hApp (${happFile}, sha256 ${pinned}; this file's sha256 ${given}); a node runs only its pinned hApp, so that its DNA hashes match the ones its network pins`,
      NODE_INSTALLS_ITSELF,
    );
  }
  return { installed: true, path: asked, pinnedHapp: happFile, sha256: pinned, note: "this is the node's pinned hApp: the node installed it itself when it joined its mesh; nothing was changed" };
}
