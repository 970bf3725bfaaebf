// Step: Debian packages the project needs outside npm/cargo (nats-server for the NATS seam,
// iproute2 + util-linux for the loopback-only test namespace, xz-utils for the toolchain archives,
// chromium + a font for the web UI's browser tests: playwright-core drives Debian's browser, never a download;
// faketime (libfaketime) to run a test node whose clock lies, for the lying-clock scenario; sqlite3 for
// the test that reads the compiled-wasm cache as the plain SQLite database it must be; libjemalloc2,
// the allocator the conductor runs on where it is installed: node/src/conductor/conductor-memory-env.ts).
import { run, succeeds } from "./exec.mjs";
import { SetupError } from "./errors.mjs";

export const debianPackages = ["nats-server", "iproute2", "util-linux", "xz-utils", "chromium", "fonts-dejavu-core", "faketime", "sqlite3", "libjemalloc2"];

/** Which of `packages` dpkg does not report as installed. */
export async function missingDebianPackages(packages) {
  const missing = [];
  for (const pkg of packages) {
    const ok = await succeeds("sh", ["-c", `dpkg-query -W -f='\${Status}' ${pkg} | grep -q 'install ok installed'`]);
    if (!ok) missing.push(pkg);
  }
  return missing;
}

/** Install Debian packages with apt-get, as root, or fail with the command a person can run. */
export async function aptInstall(packages) {
  const command = `apt-get update && apt-get install -y --no-install-recommends ${packages.join(" ")}`;
  if (!(await succeeds("sh", ["-c", "command -v apt-get"]))) {
    throw new SetupError(
      `these packages are needed and this system has no apt-get: ${packages.join(", ")}`,
      "install them with your system's package manager and run setup again",
    );
  }
  if (process.getuid?.() !== 0) {
    throw new SetupError(
      `these Debian packages are missing and setup is not running as root: ${packages.join(", ")}`,
      `run \`sudo sh -c '${command}'\` and then run setup again`,
    );
  }
  const fix = `run \`${command}\` by hand to see why it fails, then run setup again`;
  await run("apt-get", ["update"], { fix });
  await run("apt-get", ["install", "-y", "--no-install-recommends", ...packages], {
    fix,
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

/** @type {import("./steps.mjs").Step} */
export const debianStep = {
  name: "Debian packages",
  async check() {
    const missing = await missingDebianPackages(debianPackages);
    return missing.length === 0 ? `${debianPackages.join(", ")} installed` : null;
  },
  async run() {
    const missing = await missingDebianPackages(debianPackages);
    await aptInstall(missing);
    return `installed ${missing.join(", ")}`;
  },
};
