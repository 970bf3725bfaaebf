// Step: the pinned toolchain binaries. From RIPPLE_TOOLCHAIN_DIR (prebuilt archives, checksums
// verified) when set; otherwise built from source with cargo / go (slow: about an hour on 2 cores).
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkBinary } from "../src/config/binaries.mjs";
import { SetupError } from "./errors.mjs";
import { run } from "./exec.mjs";
import { sha256File } from "../src/config/hashing.mjs";
import { binDir, cacheDir, versionsFile } from "../src/config/paths.mjs";
import { say } from "./progress.mjs";

const platform = "linux-x86_64";

/** Parse a `SHA256SUMS` file into a map of file name → hex digest. */
export function parseSha256Sums(text) {
  const sums = new Map();
  for (const line of text.split("\n")) {
    const m = line.trim().match(/^([0-9a-f]{64})\s+\*?(.+)$/);
    if (m) sums.set(m[2], m[1]);
  }
  return sums;
}

/**
 * Install one binary from a directory of `NAME-linux-x86_64.tar.xz` archives + `SHA256SUMS`.
 * The archive is checked against SHA256SUMS and the unpacked binary against its `NAME.sha256`.
 */
export async function installFromArchiveDir(toolchainDir, name, targetDir) {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new SetupError(
      `the archives in ${toolchainDir} are for ${platform}; this machine is ${process.platform}-${process.arch}`,
      "unset RIPPLE_TOOLCHAIN_DIR so that setup builds the toolchain from source",
    );
  }
  const archiveName = `${name}-${platform}.tar.xz`;
  const archive = join(toolchainDir, archiveName);
  const sumsFile = join(toolchainDir, "SHA256SUMS");
  const noArchiveFix = `put ${archiveName} and SHA256SUMS in ${toolchainDir}, or unset RIPPLE_TOOLCHAIN_DIR to build from source`;
  if (!existsSync(archive)) throw new SetupError(`${archive} does not exist`, noArchiveFix);
  if (!existsSync(sumsFile)) throw new SetupError(`${sumsFile} does not exist`, noArchiveFix);
  const expected = parseSha256Sums(readFileSync(sumsFile, "utf8")).get(archiveName);
  if (!expected) throw new SetupError(`${sumsFile} has no line for ${archiveName}`, noArchiveFix);
  const actual = await sha256File(archive);
  if (actual !== expected) {
    throw new SetupError(
      `${archive} does not match its checksum in ${sumsFile} (expected ${expected}, got ${actual}); the archive is corrupt or was replaced`,
      `replace ${archive} with an intact copy, or unset RIPPLE_TOOLCHAIN_DIR to build from source`,
    );
  }
  mkdirSync(targetDir, { recursive: true });
  const scratch = mkdtempSync(join(targetDir, ".unpack-"));
  try {
    await run("tar", ["-xJf", archive, "-C", scratch], { capture: true, fix: "install xz-utils and run setup again" });
    const unpacked = join(scratch, name);
    const sidecar = join(scratch, `${name}.sha256`);
    if (!existsSync(unpacked) || !existsSync(sidecar)) {
      throw new SetupError(`${archive} does not contain ${name} and ${name}.sha256`, `replace ${archive} with an intact copy`);
    }
    const binExpected = readFileSync(sidecar, "utf8").trim().split(/\s+/)[0];
    const binActual = await sha256File(unpacked);
    if (binExpected !== binActual) {
      throw new SetupError(
        `${name} unpacked from ${archive} does not match ${name}.sha256 (expected ${binExpected}, got ${binActual})`,
        `replace ${archive} with an intact copy`,
      );
    }
    chmodSync(unpacked, 0o755);
    renameSync(unpacked, join(targetDir, name));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `cargo install --locked` into the cache, then copy the one binary into place. */
async function buildWithCargo(name, build, targetDir) {
  const root = join(cacheDir(), "cargo-install");
  say(`  building ${build.crate} ${build.version} with cargo (holochain takes about 40-60 min on 2 cores; the others 4-5 min)`);
  await run("cargo", ["install", "--locked", build.crate, "--version", build.version, "--root", root], {
    fix: "install Rust (https://rustup.rs), check that crates.io is reachable, and run setup again",
  });
  mkdirSync(targetDir, { recursive: true });
  copyFileSync(join(root, "bin", name), join(targetDir, name));
  chmodSync(join(targetDir, name), 0o755);
}

/**
 * kubo from the Go module proxy. `go install …@version` needs version listing, which some proxies
 * refuse, so build from a throwaway module that requires the pinned version.
 */
async function buildWithGo(name, build, targetDir) {
  const dir = join(cacheDir(), "kubo-build");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "go.mod"), `module ripple-kubo-build\n\ngo 1.25\n\nrequire ${build.module} ${build.version}\n`);
  writeFileSync(join(dir, "tools.go"), `//go:build tools\n\npackage tools\n\nimport _ "${build.package}"\n`);
  const env = { ...process.env, GOFLAGS: "-mod=mod" };
  const fix = "install Go 1.25 or newer, check that the Go module proxy is reachable, and run setup again";
  say(`  building ${build.module} ${build.version} with go (about 3 min on 2 cores)`);
  await run("go", ["mod", "tidy"], { cwd: dir, env, fix });
  mkdirSync(targetDir, { recursive: true });
  await run("go", ["build", "-trimpath", "-ldflags=-s -w", "-o", join(targetDir, name), build.package], { cwd: dir, env, fix });
}

async function loadPins() {
  const { loadVersions } = await import("../src/config/versions-schema.mjs");
  return loadVersions(versionsFile).binaries;
}

async function binariesNeedingInstall() {
  const pins = await loadPins();
  const needed = [];
  for (const [name, pin] of Object.entries(pins)) {
    try {
      await checkBinary(join(binDir(), name), pin);
    } catch {
      needed.push(name);
    }
  }
  return { pins, needed };
}

/** @type {import("./steps.mjs").Step} */
export const toolchainStep = {
  name: "toolchain binaries",
  async check() {
    const { pins, needed } = await binariesNeedingInstall();
    return needed.length === 0 ? `${Object.keys(pins).join(", ")} at the pinned versions in ${binDir()}` : null;
  },
  async run() {
    const { pins, needed } = await binariesNeedingInstall();
    const toolchainDir = process.env.RIPPLE_TOOLCHAIN_DIR;
    for (const name of needed) {
      const pin = pins[name];
      say(`  ${name} ${pin.version}: ${toolchainDir ? `from ${toolchainDir}` : "building from source"}`);
      if (toolchainDir) await installFromArchiveDir(toolchainDir, name, binDir());
      else if (pin.build.kind === "cargo") await buildWithCargo(name, pin.build, binDir());
      else await buildWithGo(name, pin.build, binDir());
      await checkBinary(join(binDir(), name), pin);
    }
    return `installed ${needed.join(", ")} into ${binDir()}`;
  },
};
