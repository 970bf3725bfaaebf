// `ripple models list|add|rm|load|unload`: the GGUF models this node serves.
// list: from the running node (with what is loaded), else from <data dir>/models.json.
// add/rm: edit models.json directly, then have a running node serve the change and advertise it.
// rescan: have the running node re-read models.json (a hand edit).
// load/unload: ask the running node to load a model into memory, or free it.
import type { Command } from "commander";
import { pino } from "pino";
import { LocalApiClient, LocalApiRequestError } from "../../api/api-client.ts";
import { readApiDescriptor } from "../../api/api-descriptor.ts";
import type { LocalModel, ModelsRescan } from "../../api/inference-source.ts";
import { modelsDir } from "../../config/paths.mjs";
import { formatModels } from "../inference-format.ts";
import { fail, globalOptions, printJson, printOut, printErr } from "../run.ts";

/**
 * After models.json changed: a running node serves what it registers now and re-advertises its
 * models. Undefined when no node runs; a node that cannot be told serves the change from its next start.
 */
async function tellRunningNode(dataDir: string): Promise<{ rescan?: ModelsRescan; note?: string } | undefined> {
  if (!(await isNodeRunning(dataDir))) return undefined;
  try {
    return { rescan: await (await LocalApiClient.forDataDir(dataDir)).rescanModels() };
  } catch (err) {
    return { note: `note: the running node was not told (${(err as Error).message}); it serves this change from its next start (\`ripple down\`, then \`ripple up\`)\n` };
  }
}

function rescanLine(r: ModelsRescan): string {
  const what = [...r.added.map((n) => `+${n}`), ...r.removed.map((n) => `-${n}`), ...r.changed.map((n) => `~${n}`)].join(" ");
  if (!what) return "the running node already serves what models.json registers\n";
  return `the running node serves it now (${what})${r.advertised ? " and advertised it to the mesh" : "; it is in no mesh, so nothing was advertised"}\n`;
}

/** The registry on disk. Loaded on use: the light commands do not pay for its imports. */
async function openStore(dataDir: string) {
  const { ModelStore } = await import("../../inference/model-store.ts");
  const { nodeModelsDir } = await import("../../inference/models-dir-file.ts");
  // Logs (e.g. hashing progress of a big file) go to stderr: stdout is the command's output.
  const log = pino({ name: "ripple", level: process.env.RIPPLE_LOG_LEVEL ?? "warn" }, pino.destination(2));
  return ModelStore.open({ dataDir, modelsDir: storeModelsDir(nodeModelsDir(dataDir)), log });
}

/**
 * The node's models directory, as it recorded at its last start; before any start, the one this
 * environment names. An explicit RIPPLE_MODELS_DIR that differs from the node's is overridden, with a note.
 */
function storeModelsDir(nodes: string | undefined): string {
  const mine = modelsDir();
  if (nodes === undefined) return mine;
  if (process.env.RIPPLE_MODELS_DIR && nodes !== mine) {
    printErr(`note: using the node's models directory ${nodes} (it started with it), not RIPPLE_MODELS_DIR=${mine}\n`);
  }
  return nodes;
}

async function isNodeRunning(dataDir: string): Promise<boolean> {
  return readApiDescriptor(dataDir).then(
    () => true,
    () => false,
  );
}

function writeTold(told: { rescan?: ModelsRescan; note?: string } | undefined): void {
  if (told?.rescan) printOut(rescanLine(told.rescan));
  if (told?.note) printErr(told.note);
}

export function modelsCommand(program: Command): void {
  const models = program.command("models").description("the GGUF models this node serves: list, add, rm, rescan, load, unload");

  models
    .command("list")
    .description("registered models, and which are loaded when the node runs")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      try {
        const { dataDir } = globalOptions(cmd);
        let list: LocalModel[] | undefined;
        if (await isNodeRunning(dataDir)) {
          list = await (await LocalApiClient.forDataDir(dataDir)).localModels().catch((err: unknown) => {
            // A node without inference routes: fall back to the registry on disk.
            if (err instanceof LocalApiRequestError && err.status === 404 && err.code === "not_found") return undefined;
            throw err;
          });
        }
        const running = list !== undefined;
        list ??= (await openStore(dataDir)).list().map((m) => ({ ...m, loaded: false }));
        if (opts.json) printJson(list);
        else {
          printOut(formatModels(list, running));
          if (!running && list.length > 0) printErr("(the node's model state is unknown: it is not running)\n");
        }
      } catch (err) {
        fail(err);
      }
    });

  models
    .command("add")
    .description("register a GGUF file (outside the models directory it is hard-linked or copied there)")
    .argument("<file>", "a .gguf model file")
    .option("--name <name>", "the name the mesh knows it by (default: the file name without .gguf)")
    .option("--sha256 <hash>", "refuse the file unless it has this sha256")
    .option("--json", "print JSON for scripts")
    .action(async (file: string, opts: { name?: string; sha256?: string; json?: boolean }, cmd: Command) => {
      try {
        const { dataDir } = globalOptions(cmd);
        const store = await openStore(dataDir);
        const model = await store.add(file, { ...(opts.name !== undefined ? { name: opts.name } : {}), ...(opts.sha256 !== undefined ? { sha256: opts.sha256 } : {}) });
        const told = await tellRunningNode(dataDir);
        if (opts.json) return printJson({ model, running: told !== undefined, ...(told?.rescan ? { rescan: told.rescan } : {}) });
        printOut(`registered ${model.name}: ${model.file} (${(model.bytes / 1e6).toFixed(1)} MB, sha256 ${model.sha256})\n`);
        writeTold(told);
      } catch (err) {
        fail(err);
      }
    });

  models
    .command("rm")
    .description("unregister a model (its file is kept)")
    .argument("<name>", "a registered model's name")
    .option("--json", "print JSON for scripts")
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      try {
        const { dataDir } = globalOptions(cmd);
        const { removed, fileKept } = await (await openStore(dataDir)).remove(name);
        const told = await tellRunningNode(dataDir);
        if (opts.json) return printJson({ removed, fileKept, running: told !== undefined, ...(told?.rescan ? { rescan: told.rescan } : {}) });
        printOut(`unregistered ${removed.name} (its file is kept: ${fileKept})\n`);
        writeTold(told);
      } catch (err) {
        fail(err);
      }
    });

  models
    .command("rescan")
    .description("have the running node re-read models.json (after editing it by hand) and serve and advertise what it registers")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      try {
        const rescan = await (await LocalApiClient.forDataDir(globalOptions(cmd).dataDir)).rescanModels();
        if (opts.json) printJson(rescan);
        else printOut(rescanLine(rescan));
      } catch (err) {
        fail(err);
      }
    });

  for (const [action, description] of [
    ["load", "load a registered model into memory on the running node"],
    ["unload", "free a loaded model's memory on the running node"],
  ] as const) {
    models
      .command(action)
      .description(description)
      .argument("<name>", "a registered model's name")
      .option("--json", "print JSON for scripts")
      .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
        try {
          const client = await LocalApiClient.forDataDir(globalOptions(cmd).dataDir);
          const model = action === "load" ? await client.loadModel(name) : await client.unloadModel(name);
          if (opts.json) printJson(model);
          else printOut(`${model.name}: ${model.loaded ? "loaded" : "not loaded"}\n`);
        } catch (err) {
          fail(err);
        }
      });
  }
}
