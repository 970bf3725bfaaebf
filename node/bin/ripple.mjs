#!/usr/bin/env -S node --max-semi-space-size=2
// The `ripple` command. The daemon and CLI are TypeScript, run from a bundle esbuild builds on first
// use and rebuilds when a source changes (cli-bundle.mjs; RIPPLE_CLI_BUNDLE=off runs them through tsx).
// --max-semi-space-size=2 (MiB; Node 20's default is 16): V8's young generation stays small, which
// cut an idle daemon from ~204 to ~188 MB RSS (issue #22); `npm start` passes the same flag.
import { runCli } from "./cli-bundle.mjs";

await runCli();
