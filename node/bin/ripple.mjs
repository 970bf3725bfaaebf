#!/usr/bin/env node
// The `ripple` command. The daemon and CLI are TypeScript run through tsx (no build step).
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
