#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=2
// The `ripple` command. The daemon and CLI are TypeScript, run from a bundle esbuild builds on first
// use and rebuilds when a source changes (cli-bundle.mjs; RIPPLE_CLI_BUNDLE=off runs them through tsx).
// The first line is the one place that says how ripple's node runs (`npm start` runs this file
// through it, and test daemons read it: test/support/ripple-process.ts), for an idle node's memory
// (issue #22):
// - --max-semi-space-size=2 (MiB; Node 20's default is 16): V8's young generation stays small
//   (an idle daemon ~204 → ~188 MB RSS when measured);
// - MALLOC_ARENA_MAX=1: one glibc malloc arena for all of the process's threads, which otherwise
//   take one each and keep what each holds (one idle node's daemon 103-106 → 95 MB).
import { limitMallocArenas } from "../src/supervisor/glibc-malloc.mjs";
import { runCli } from "./cli-bundle.mjs";

// Where node runs this file without the first line (`node node/bin/ripple.mjs`), the threads that
// start from here on still share the arenas Node has now, two (glibc-malloc.mjs; 100 MB).
if (!process.env.MALLOC_ARENA_MAX) limitMallocArenas(1);
await runCli();
