// `ripple moe`, `ripple ask` and `ripple models` as a person runs them: the real CLI process against a
// local API started in this test with a fake InferenceSource (its api.json tells the CLI where it is),
// and `models add/rm/list` against a real models.json when no node runs.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalApi, type LocalApi } from "../src/api/local-api.ts";
import type { MoeResult } from "../src/moe/moe-types.ts";
import { createLogger } from "../src/log.ts";
import { InferenceError } from "../src/inference/inference-errors.ts";
import { recordModelsDir } from "../src/inference/models-dir-file.ts";
import { fakeInference, until, type FakeInference } from "./support/fake-inference.ts";
import { ripple, rippleBin, RippleDaemon } from "./support/ripple-process.ts";

const root = RippleDaemon.tempDir("rm-inference-cli-");
const running = join(root, "running"); // a node (this test's API) serves it
const idle = join(root, "idle"); // no node
const modelsDir = join(root, "models");
const env = { RIPPLE_MODELS_DIR: modelsDir };
let api: LocalApi;
let fake: FakeInference;

beforeAll(async () => {
  for (const d of [running, idle, modelsDir]) mkdirSync(d, { recursive: true });
  fake = fakeInference();
  api = await startLocalApi({
    log: createLogger("test", "silent"),
    dataDir: running,
    source: { status: async () => ({}), peers: async () => [], shutdown: async () => {}, events: new EventEmitter(), inference: fake },
  });
});
afterAll(async () => {
  await api?.close();
  rmSync(root, { recursive: true, force: true });
});

const on = (dataDir: string, ...args: string[]) => ripple(["--data-dir", dataDir, ...args], { env, timeoutMs: 60_000 });

describe("ripple moe", () => {
  it("prints progress to stderr, then the answer, the consensus and a votes table", async () => {
    const r = await on(running, "moe", "What is 2+2?", "--experts", "3", "--task-type", "math", "--max-tokens", "16");
    expect(r.code, r.stderr).toBe(0);
    expect(fake.state.moeCalls.at(-1)!.req).toEqual({ prompt: "What is 2+2?", experts: 3, taskType: "math", maxTokens: 16 });
    expect(r.stderr).toContain("[slot 0] expert-0 → tiny on node-0");
    expect(r.stderr).toContain("[slot 2] expert-2 answered on node-2 in 12 ms");
    const out = r.stdout.split("\n");
    expect(out[0]).toBe("answer to: What is 2+2?");
    expect(r.stdout).toMatch(/consensus 0\.67 \(reached\): 2 of 3 answers agree · task math · .* · trace trace-fake-1/);
    const table = out.slice(out.findIndex((l) => l.startsWith("EXPERT")));
    expect(table[0]).toMatch(/^EXPERT\s+MODEL\s+PEER\s+WEIGHT\s+CONFIDENCE\s+COUNTED\s+LATENCY\s+AGREED$/);
    expect(table[1]).toMatch(/^expert-0\s+tiny\s+node-0\s+1\.00\s+0\.87\s+1\.00\s+10 ms\s+✓$/);
    expect(table[3]).toMatch(/^expert-2\s+tiny\s+node-2\s+1\.00\s+-\s+1\.00\s+12 ms\s+✗$/);
  });

  it("--json prints the MoeResult; --no-require-consensus is passed on", async () => {
    const r = await on(running, "moe", "capital of Italy?", "--no-require-consensus", "--json");
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as MoeResult;
    expect(result.response).toBe("answer to: capital of Italy?");
    expect(result.model_votes).toHaveLength(3);
    expect(fake.state.moeCalls.at(-1)!.req.requireConsensus).toBe(false);
    expect(r.stderr).toBe("");
  });
});

describe("peers' words reach the terminal without their control characters", () => {
  // The fake mesh answers "answer to: <prompt>", so the prompt stands in for a peer's answer here.
  const osc52 = "\x1b]52;c;Y3VybCBldmlsfHNo\x07"; // writes the clipboard in terminals that allow it
  it("an answer's escape sequences are shown as U+FFFD; --json escapes them and parses back unchanged", async () => {
    // A lone \r would overwrite the line (a CRLF is kept as a line end, so it is not last here).
    const prompt = `${osc52}\x1b[2J\u009b31mcapital\r of Peru?`;
    const r = await on(running, "moe", prompt);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("answer to: \uFFFD]52;c;Y3VybCBldmlsfHNo\uFFFD\uFFFD[2J\uFFFD31mcapital\uFFFD of Peru?");
    expect(r.stdout + r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    const json = await on(running, "moe", prompt, "--json");
    expect(json.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect((JSON.parse(json.stdout) as MoeResult).response).toBe(`answer to: ${prompt}`);
  });

  it("an error naming what was asked shows it the same way", async () => {
    const r = await on(running, "ask", "--model", `${osc52}gpt`, "hi");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no node of the mesh serves a model named "\uFFFD]52;c;Y3VybCBldmlsfHNo\uFFFDgpt"');
    expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
});

describe("ripple ask", () => {
  it("prints the model's text and its figures", async () => {
    const r = await on(running, "ask", "--model", "tiny", "hi there", "--temperature", "0.5", "--seed", "3");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("Hello, mesh!\n");
    expect(r.stderr).toContain("tiny on node-0: 5 tokens in 7 ms, stop; trace trace-ask-1");
    expect(fake.state.askCalls.at(-1)!.req).toMatchObject({ model: "tiny", messages: [{ role: "user", content: "hi there" }], temperature: 0.5, seed: 3 });
    const json = await on(running, "ask", "--model", "qwen", "hi", "--max-tokens", "2", "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({ text: "Hello", tokens: 2, finishReason: "length" });
  });

  it("streams tokens as they arrive, and Ctrl-C stops the generation on the node", async () => {
    fake.state.hold = true; // the first token, then nothing until aborted
    try {
      const child = spawn(process.execPath, [rippleBin, "--data-dir", running, "ask", "--model", "tiny", "hi"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      child.stdout.on("data", (d) => (stdout += d));
      const exited = new Promise<number | null>((r) => child.on("exit", (code, signal) => r(code ?? (signal ? -1 : null))));
      const calls = fake.state.askCalls.length;
      await until(() => stdout === "Hel", "the first token on stdout", 30_000);
      expect(fake.state.askCalls[calls]!.signal.aborted).toBe(false);
      child.kill("SIGINT");
      await exited;
      await until(() => fake.state.askCalls[calls]!.signal.aborted, "the node to abort the generation");
    } finally {
      fake.state.hold = false;
    }
  });

  it("an unknown model fails with the models the mesh serves", async () => {
    const r = await on(running, "ask", "--model", "gpt-4", "hi");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no node of the mesh serves a model named "gpt-4"');
    expect(r.stderr).toContain("use one of: tiny, qwen");
  });
});

describe("ripple models (node running)", () => {
  it("lists with the loaded state, loads and unloads", async () => {
    const list = await on(running, "models", "list");
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+LOADED\s+SIZE\s+SHA256\s+FILE\n/);
    expect(list.stdout).toMatch(/\ntiny\s+no\s+0\.5 MB\s+aaaaaaaaaaaa\s+\/models\/ripple-tiny-test\.gguf\n/);
    expect(list.stdout).toMatch(/\nqwen\s+yes\s+491\.0 MB/);
    const load = await on(running, "models", "load", "tiny");
    expect(load.stdout).toBe("tiny: loaded\n");
    expect(fake.loadModel).toHaveBeenCalledWith("tiny");
    const json = JSON.parse((await on(running, "models", "list", "--json")).stdout) as Array<{ name: string; loaded: boolean }>;
    expect(json.find((m) => m.name === "tiny")!.loaded).toBe(true);
    expect((await on(running, "models", "unload", "tiny")).stdout).toBe("tiny: not loaded\n");
    const ghost = await on(running, "models", "load", "ghost");
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('model "ghost" is not registered');
  });
});

describe("ripple models (no node: models.json)", () => {
  it("adds, lists and removes a GGUF file; refuses a file that is not GGUF", async () => {
    const src = join(root, "elsewhere");
    mkdirSync(src, { recursive: true });
    const file = join(src, "My-Model.gguf");
    writeFileSync(file, Buffer.concat([Buffer.from("GGUF"), randomBytes(4096)]));

    const add = await on(idle, "models", "add", file, "--name", "my-model");
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^registered my-model: .*My-Model\.gguf \(0\.0 MB, sha256 [0-9a-f]{64}\)\n$/);
    expect(add.stderr).not.toContain("note:");
    expect(existsSync(join(modelsDir, "My-Model.gguf"))).toBe(true);

    const list = await on(idle, "models", "list", "--json");
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: "my-model", loaded: false, bytes: 4100 })]);
    const human = await on(idle, "models", "list");
    expect(human.stdout).toMatch(/\nmy-model\s+-\s+0\.0 MB/);
    expect(human.stderr).toContain("it is not running");

    const dup = await on(idle, "models", "add", file, "--name", "other", "--sha256", "0".repeat(64));
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("was expected");

    const notGguf = join(src, "notes.gguf");
    writeFileSync(notGguf, "hello");
    const bad = await on(idle, "models", "add", notGguf);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("is not a GGUF file");

    const rm = await on(idle, "models", "rm", "my-model");
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain("unregistered my-model (its file is kept:");
    expect(JSON.parse((await on(idle, "models", "list", "--json")).stdout)).toEqual([]);
    expect((await on(idle, "models", "rm", "my-model")).stderr).toContain('model "my-model" is not registered');
  });

  it("add links into the node's models directory when the CLI's environment names another, and says so", async () => {
    const nodeDir = join(root, "node-data");
    const nodeModels = join(root, "node-models");
    mkdirSync(nodeDir, { recursive: true });
    recordModelsDir(nodeDir, nodeModels); // as the node does at its start (RIPPLE_MODELS_DIR=node-models)
    const file = join(root, "third.gguf");
    writeFileSync(file, Buffer.concat([Buffer.from("GGUF"), randomBytes(64)]));
    const add = await on(nodeDir, "models", "add", file);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain(`note: using the node's models directory ${nodeModels} (it started with it), not RIPPLE_MODELS_DIR=${modelsDir}`);
    expect(existsSync(join(nodeModels, "third.gguf"))).toBe(true);
    expect(existsSync(join(modelsDir, "third.gguf"))).toBe(false);
  });

  it("add and rm on a running node's data dir have the node serve the change, or say when it applies", async () => {
    const file = join(root, "second.gguf");
    writeFileSync(file, Buffer.concat([Buffer.from("GGUF"), randomBytes(64)]));
    const models = (names: Partial<{ added: string[]; removed: string[] }>, advertised: boolean) => ({ added: [], removed: [], changed: [], models: [], advertised, ...names });
    fake.rescanModels.mockResolvedValueOnce(models({ added: ["second"] }, true));
    const add = await on(running, "models", "add", file);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain("the running node serves it now (+second) and advertised it to the mesh");
    expect(fake.rescanModels).toHaveBeenCalledTimes(1);
    fake.rescanModels.mockResolvedValueOnce(models({ removed: ["second"] }, false));
    const rm = await on(running, "models", "rm", "second", "--json");
    expect(rm.code, rm.stderr).toBe(0);
    expect(JSON.parse(rm.stdout)).toMatchObject({ removed: { name: "second" }, running: true, rescan: { removed: ["second"], advertised: false } });
    // After a hand edit: `ripple models rescan` tells the node.
    fake.rescanModels.mockResolvedValueOnce(models({}, false));
    const rescan = await on(running, "models", "rescan");
    expect(rescan.code, rescan.stderr).toBe(0);
    expect(rescan.stdout).toBe("the running node already serves what models.json registers\n");
    // A node that cannot be told: the change is registered, and the note says when it applies.
    fake.rescanModels.mockRejectedValueOnce(new InferenceError("failed", "the node is still starting", "wait"));
    const again = await on(running, "models", "add", file);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("the running node was not told");
    expect(again.stderr).toContain("it serves this change from its next start");
  });
});

describe("inference commands: mistakes and no node", () => {
  it("bad flag values are usage errors (exit 2) naming the flag", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["ask", "hi"], /required option '--model <name>' not specified/],
      [["ask", "--model", "tiny", "hi", "--max-tokens", "0"], /--max-tokens.*must be a whole number from 1 to 2048/],
      [["ask", "--model", "tiny", "hi", "--temperature", "3"], /--temperature.*must be a number from 0 to 2/],
      [["moe", "q", "--experts", "many"], /--experts.*must be a whole number from 1 to 16/],
      [["moe", "   "], /prompt.*must not be empty/],
      [["moe", "x".repeat(40_000)], /prompt.*at most 32768/],
    ];
    for (const [args, message] of cases) {
      const r = await on(running, ...args);
      expect(r.code, args.join(" ").slice(0, 60)).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it("commands that need the node exit 3 when none runs", async () => {
    for (const args of [["moe", "q"], ["ask", "--model", "tiny", "q"], ["models", "load", "tiny"], ["models", "unload", "tiny"]]) {
      const r = await on(idle, ...args);
      expect(r.code, args.join(" ")).toBe(3);
      expect(r.stderr).toContain("no daemon is running");
    }
  });
});
