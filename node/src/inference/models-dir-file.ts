// `<dataDir>/models-dir.json`: the models directory the node last started with (its
// RIPPLE_MODELS_DIR, else setup's workdir/models). The CLI opens the node's registry with it, so
// that `ripple models add` links files into, and offers the pinned models of, the directory the
// node serves from, not whatever the CLI's own environment names.
import { isAbsolute, join } from "node:path";
import { z } from "zod";
import { readValidatedJson, writeFileAtomically } from "./model-registry-file.ts";

const recordSchema = z.strictObject({
  schema: z.literal(1),
  modelsDir: z.string().min(1).max(4096).refine(isAbsolute, "an absolute path"),
});

function modelsDirFile(dataDir: string): string {
  return join(dataDir, "models-dir.json");
}

/** The node records where it serves models from (at every start: the setting may change; a damaged record is replaced). */
export function recordModelsDir(dataDir: string, modelsDir: string): void {
  const recorded = (() => {
    try {
      return nodeModelsDir(dataDir);
    } catch {
      return undefined;
    }
  })();
  if (recorded === modelsDir) return;
  writeFileAtomically(modelsDirFile(dataDir), JSON.stringify({ schema: 1, modelsDir }, null, 2) + "\n");
}

/** The models directory the node of `dataDir` last started with; undefined before its first start. */
export function nodeModelsDir(dataDir: string): string | undefined {
  const file = modelsDirFile(dataDir);
  const fix = `delete it (\`rm ${file}\`): the node writes it again at its next start`;
  return readValidatedJson(file, recordSchema, "the node's models directory", fix)?.modelsDir;
}
