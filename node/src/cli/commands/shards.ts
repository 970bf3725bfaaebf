// `ripple shards`, `ripple models publish|pull` and `ripple artifacts list|get|put|providers`:
// IPFS content of the mesh, through the running node's local API.
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { LocalApiClient } from "../../api/api-client.ts";
import { formatArtifacts, formatProviders, formatPublish, formatPull, formatPullProgress, formatShards } from "../../artifacts/shards-format.ts";
import { fail, globalOptions, printJson, printOut, printErr } from "../run.ts";

const client = (cmd: Command) => LocalApiClient.forDataDir(globalOptions(cmd).dataDir);

/** One value of `ripple ipfs`: lists space-separated, sections (direct transfer, rehosting) as compact JSON. */
function ipfsValue(v: unknown): string {
  if (Array.isArray(v)) return v.join(" ");
  return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
}

export function ipfsCommand(program: Command): void {
  program
    .command("ipfs")
    .description("this node's kubo: peer id, swarm addresses, restarts, connected peers, repo and cache size, direct transfers, rehosting")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      try {
        const info = await (await client(cmd)).ipfs();
        if (opts.json) printJson(info);
        else printOut(Object.entries(info).map(([k, v]) => `${k.padEnd(15)} ${ipfsValue(v)}`).join("\n") + "\n");
      } catch (err) {
        fail(err);
      }
    });
}

export function shardsCommand(program: Command): void {
  program
    .command("shards")
    .description("models published on the mesh × the peers that provide them, with replica counts")
    .option("--verify", "ask every provider to prove it holds the content (slower)")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { verify?: boolean; json?: boolean }, cmd: Command) => {
      try {
        const rows = await (await client(cmd)).shards({ verify: Boolean(opts.verify) });
        if (opts.json) printJson(rows);
        else printOut(formatShards(rows, Boolean(opts.verify)));
      } catch (err) {
        fail(err);
      }
    });
}

/** Adds `publish` and `pull` to the existing `ripple models` command. */
export function modelShardCommands(program: Command): void {
  const models = program.commands.find((c) => c.name() === "models");
  if (!models) throw new Error("the models command must be registered first");
  models
    .command("publish")
    .description("add a registered model to IPFS (pinned), register it in artifact_index and announce this node as its provider")
    .argument("<name>", "a registered model's name")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      try {
        const r = await (await client(cmd)).publishModel(name);
        if (opts.json) printJson(r);
        else printOut(formatPublish(r));
      } catch (err) {
        fail(err);
      }
    });
  models
    .command("pull")
    .description("fetch a model by name (its pinned sha256) or CID from the peers that provide it, verify sha256 and CID, pin it and serve it")
    .argument("<ref>", "a model name or CID (see `ripple shards`)")
    .option("--name <name>", "register it under this name (default: the published name)")
    .option("--sha256 <hex>", "install the registration with this sha256 (an explicit choice; by default a name needs its sha256 pinned in the inference policy's models or the storage policy's models.want)")
    .option("--any-publisher", "list every registration of an unpinned name (sha256, publishers, size) to choose one with --sha256")
    .option("--via-kubo", "fetch through IPFS (kubo) only, not straight from the providers' files (e.g. when a firewall blocks their direct transfer port)")
    .option("--json", "print JSON for scripts (no progress)")
    .action(async (ref: string, opts: { name?: string; sha256?: string; anyPublisher?: boolean; viaKubo?: boolean; json?: boolean }, cmd: Command) => {
      try {
        const c = await client(cmd);
        const req = { ref, ...(opts.name ? { name: opts.name } : {}), ...(opts.sha256 ? { sha256: opts.sha256.toLowerCase() } : {}), ...(opts.anyPublisher ? { anyPublisher: true } : {}), ...(opts.viaKubo ? { viaKubo: true } : {}) };
        if (opts.json) return printJson(await c.pullModel(req));
        const r = await c.pullModel(req, { onProgress: (p) => printErr(formatPullProgress(p)) });
        printOut(formatPull(r));
      } catch (err) {
        fail(err);
      }
    });
}

export function artifactsCommand(program: Command): void {
  const artifacts = program.command("artifacts").description("content in IPFS indexed in artifact_index: list, get, put, providers");
  artifacts
    .command("list")
    .description("artifacts by CID, name, kind or job")
    .option("--cid <cid>")
    .option("--name <name>")
    .option("--kind <kind>", "model | output | prompt | bundle", "output")
    .option("--job <hash>", "a job's action hash (uhCkk…)")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { cid?: string; name?: string; kind?: string; job?: string; json?: boolean }, cmd: Command) => {
      try {
        const { json, ...q } = opts;
        const list = await (await client(cmd)).artifacts(q);
        if (json) printJson(list);
        else printOut(formatArtifacts(list));
      } catch (err) {
        fail(err);
      }
    });
  artifacts
    .command("get")
    .description("the content of a CID (checked against its registered sha256), to stdout (exact bytes unless stdout is a terminal) or a file")
    .argument("<cid>")
    .option("-o, --output <file>", "write it to this file")
    .action(async (cid: string, opts: { output?: string }, cmd: Command) => {
      try {
        const r = await (await client(cmd)).artifactContent(cid);
        if (opts.output) {
          writeFileSync(opts.output, r.bytes);
          printErr(`wrote ${r.bytes.length} bytes (sha256 ${r.sha256}${r.registered ? ", as registered" : ", not registered in artifact_index"}) to ${opts.output}\n`);
        } else if (process.stdout.isTTY) {
          // Any peer's bytes: exact into a pipe or file, made harmless for a terminal (terminal-text.ts).
          printOut(r.bytes.toString("utf8"));
        } else process.stdout.write(r.bytes);
      } catch (err) {
        fail(err);
      }
    });
  artifacts
    .command("put")
    .description("add text (≤ 48 KiB) as an artifact: pinned here, registered with this node as provider")
    .argument("<text>")
    .option("--name <name>", "its name", "text")
    .option("--kind <kind>", "output | prompt | bundle", "output")
    .option("--json", "print JSON for scripts")
    .action(async (text: string, opts: { name: string; kind: string; json?: boolean }, cmd: Command) => {
      try {
        const a = await (await client(cmd)).putArtifact({ content: text, name: opts.name, kind: opts.kind });
        if (opts.json) printJson(a);
        else printOut(`${a.cid}\n`);
      } catch (err) {
        fail(err);
      }
    });
  artifacts
    .command("providers")
    .description("who says they provide a CID; with --verify each is asked to prove it")
    .argument("<cid>")
    .option("--verify", "ask each provider for a proof")
    .option("--json", "print JSON for scripts")
    .action(async (cid: string, opts: { verify?: boolean; json?: boolean }, cmd: Command) => {
      try {
        const list = await (await client(cmd)).providers(cid, { verify: Boolean(opts.verify) });
        if (opts.json) printJson(list);
        else printOut(formatProviders(list));
      } catch (err) {
        fail(err);
      }
    });
}
