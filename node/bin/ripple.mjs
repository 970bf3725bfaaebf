#!/usr/bin/env -S node --max-semi-space-size=2
// The `ripple` command. The daemon and CLI are TypeScript run through tsx (no build step).
// --max-semi-space-size=2 (MiB; Node 20's default is 16): V8's young generation stays small, which
// cut an idle daemon from ~204 to ~188 MB RSS (issue #22); `npm start` passes the same flag.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
