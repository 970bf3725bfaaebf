#!/usr/bin/env -S node --max-semi-space-size=2
// The `ripple` command. The daemon and CLI are TypeScript, run from a bundle esbuild builds on first
// use and rebuilds when a source changes (cli-bundle.mjs; RIPPLE_CLI_BUNDLE=off runs them through tsx).
// --max-semi-space-size=2 (MiB; Node 20's default is 16): V8's young generation stays small, which
// cut an idle daemon from ~204 to ~188 MB RSS (issue #22); `npm start` passes the same flag.
import { limitMallocArenas } from "../src/supervisor/glibc-malloc.mjs";
import { runCli } from "./cli-bundle.mjs";

// Before the bundle loads and the daemon's threads start: they share one malloc arena instead of
// taking one each (an idle daemon 103-106 → 95 MB RSS; glibc-malloc.mjs). Without glibc it does nothing.
limitMallocArenas(1);
await runCli();
