// The `ripple` command's code as one JavaScript file, built by esbuild from node/src on first use
// and rebuilt whenever a source file changes. Why: running the TypeScript through tsx made every
// start resolve and transform ~300 modules: 3.2 s of CPU before `ripple up` did anything and ~1.5 s
// for `ripple --help`; the bundle loads in ~0.8 s (issue #22: three nodes started at once share two
// cores). RIPPLE_CLI_BUNDLE=off runs the sources through tsx instead.
//
// The bundle and the list of its inputs (path, size, mtime) live in node/.build/ (git-ignored).
// Concurrent first starts each build their own copy and rename it into place: the last one wins and
// every one of them is complete.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const nodeDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = resolve(nodeDir, "..");
const buildDir = join(nodeDir, ".build");
const bundleFile = join(buildDir, "ripple-cli.mjs");
const inputsFile = join(buildDir, "ripple-cli.inputs.json");
const entry = join(nodeDir, "src", "cli", "main.ts");

// Kept out of the bundle: native addons and packages that find their own files (workers, wasm)
// next to their modules at run time.
const external = ["node-llama-cpp", "@node-rs/argon2", "libsodium", "libsodium-wrappers", "libsodium-wrappers-sumo", "pino", "thread-stream", "systeminformation", "esbuild", "koffi"];

/** The bundle's inputs as recorded when it was built, unchanged since: true. */
function bundleIsCurrent() {
  if (!existsSync(bundleFile) || !existsSync(inputsFile)) return false;
  try {
    const inputs = JSON.parse(readFileSync(inputsFile, "utf8"));
    for (const [file, { size, mtimeMs }] of Object.entries(inputs)) {
      const st = statSync(join(repoRoot, file), { throwIfNoEntry: false });
      if (!st || st.size !== size || st.mtimeMs !== mtimeMs) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * The bundle with every non-ASCII character written as a \u escape. V8 keeps a module's whole source
 * in memory for as long as the process lives, as one string, and one non-ASCII character anywhere
 * (esbuild leaves them in comments and regular expressions) makes it a two-byte string: 13 MiB of the
 * daemon's heap for a 6.8 MB bundle, 6.5 MiB when ASCII (issue #22). The escape means the same
 * character in strings, templates, regular expressions and identifiers; in comments it is inert. It
 * would not in a tagged template's raw strings (String.raw): none has a non-ASCII character today.
 */
export function asciiOnly(text) {
  // After a backslash the escape would change meaning (a backslash then e-acute is the letter; a
  // backslash then \u00e9 is a backslash and text): refuse to build rather than change the program.
  const escaped = /\\[^\x00-\x7f]/.exec(text);
  if (escaped) throw new Error(`the CLI bundle has a backslash before a non-ASCII character at offset ${escaped.index}; cli-bundle.mjs cannot write it as ASCII`);
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

async function buildBundle() {
  const { build, stop } = await import("esbuild");
  mkdirSync(buildDir, { recursive: true });
  const tmp = `${bundleFile}.${process.pid}.tmp`;
  const result = await build({
    entryPoints: [entry],
    outfile: tmp,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Whitespace and syntax only (names stay, so stack traces still name functions): V8 keeps the
    // whole source in memory, 6.9 MB written out, 4.5 MB minified (issue #22).
    minifyWhitespace: true,
    minifySyntax: true,
    external: external.flatMap((p) => [p, `${p}/*`]),
    // Bundled CommonJS packages call require(); an ES module has none of its own.
    banner: { js: 'import { createRequire as __rippleRequire } from "node:module"; const require = __rippleRequire(import.meta.url);' },
    metafile: true,
    logLevel: "error",
    absWorkingDir: repoRoot,
    write: false,
  });
  writeFileSync(tmp, asciiOnly(result.outputFiles[0].text));
  // Our sources one by one; installed packages through npm's lock file, which every install rewrites;
  // this file, whose build options shape the bundle.
  const inputs = {};
  const files = Object.keys(result.metafile.inputs).filter((f) => !f.includes(":") && !f.includes("node_modules/"));
  for (const file of [...files, "package-lock.json", "node_modules/.package-lock.json", "node/bin/cli-bundle.mjs"]) {
    const st = statSync(join(repoRoot, file));
    inputs[file] = { size: st.size, mtimeMs: st.mtimeMs };
  }
  // esbuild's service process would otherwise live as long as this one (a daemon: days).
  await stop();
  writeFileSync(`${inputsFile}.${process.pid}.tmp`, JSON.stringify(inputs));
  // The bundle first, then its inputs: a reader that sees the new inputs list also sees the new bundle.
  renameSync(tmp, bundleFile);
  renameSync(`${inputsFile}.${process.pid}.tmp`, inputsFile);
}

/** Runs the `ripple` command: from the bundle (built or rebuilt first when needed), or through tsx. */
export async function runCli() {
  if (process.env.RIPPLE_CLI_BUNDLE === "off") {
    const { register } = await import("tsx/esm/api");
    register();
    await import(pathToFileURL(entry).href);
    return;
  }
  if (!bundleIsCurrent()) await buildBundle();
  await import(pathToFileURL(bundleFile).href);
}
