// The local API's shapes, shared by the daemon (node/src), the CLI, the web UI (ui/src) and the tests,
// so that none of them keeps a copy. Only types and browser-safe code: the UI bundles this package.
export * from "./inference.ts";
export * from "./peers.ts";
export * from "./moe.ts";
export * from "./jobs.ts";
export * from "./shards.ts";
export * from "./policies.ts";
export * from "./status.ts";
export * from "./events.ts";
export * from "./sse-parser.ts";
export * from "./describe-inference.ts";
export * from "./resources.ts";
export * from "./nats.ts";
export * from "./accounting.ts";
