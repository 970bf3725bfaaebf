// A direct transfer provider in its own process, for artifacts-bench.ts (the provider's TLS and disk
// reads must not share the puller's main thread, as they do not between two daemons):
//   tsx node/bench/direct-provider.ts FILE  → prints {port, identity, key, size} on one line, serves until killed.
import { statSync } from "node:fs";
import { pino } from "pino";
import { DirectTransferServer } from "../src/artifacts/direct-transfer-server.ts";

const file = process.argv[2]!;
const server = new DirectTransferServer({ host: "127.0.0.1", port: 0, log: pino({ level: "warn" }), ticketTtlMs: 3_600_000 });
await server.start();
const t = server.issue(file, statSync(file).size, "bench-puller")!;
console.log(JSON.stringify({ port: server.port, identity: t.identity, key: t.key.toString("base64"), size: t.size }));
process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
