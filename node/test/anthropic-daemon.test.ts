// The Anthropic Messages API and the models list of a real node: one `ripple up --network local`
// (its own conductor, the real models of workdir/models through llama.cpp), driven by the official
// `@anthropic-ai/sdk` and `openai` clients:
// - GET /v1/models reports each model's real sha256 (the pinned one of versions.json, or the file's);
// - POST /v1/messages streams an answer from the tiny model, with usage and a stop reason;
// - stop_sequences end a greedy answer exactly where the same answer first shows the sequence, and the
//   stop reason names it (the worker's engine reports which stop string ended the text);
// - `ripple models add` while the node runs: served and listed at once (its capability re-published);
//   `ripple models rm`: gone from the list and refused;
// - count_tokens (the SDK's messages.countTokens) equals the input_tokens of the same request's answer.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { readApiDescriptor } from "../src/api/api-descriptor.ts";
import { modelsDir, versionsFile } from "../src/config/paths.mjs";
import { MOE_MODEL_ID } from "../src/api/inference-source.ts";
import { ripple, type RippleDaemon } from "./support/ripple-process.ts";
import { TestFleet } from "./support/test-fleet.ts";
import { waitFor } from "./support/wait-for.ts";

const TINY = "ripple-tiny-test";
const fleet = new TestFleet();

/** What each model's sha256 must be: the pin of versions.json, or (a generated model) its file's hash. */
function expectedSha256(name: string): string {
  const pins: Array<{ name: string; file: string; sha256?: string }> = [];
  const collect = (v: unknown): void => {
    if (typeof v !== "object" || v === null) return;
    const o = v as Record<string, unknown>;
    if (typeof o.name === "string" && typeof o.file === "string" && o.file.endsWith(".gguf")) pins.push(o as unknown as (typeof pins)[number]);
    Object.values(o).forEach(collect);
  };
  collect(JSON.parse(readFileSync(versionsFile, "utf8")));
  const pin = pins.find((p) => p.name === name);
  if (!pin) throw new Error(`${name} is not a model of versions.json`);
  return pin.sha256 ?? createHash("sha256").update(readFileSync(join(modelsDir(), pin.file))).digest("hex");
}

describe("the Anthropic Messages API on a real node", { timeout: 180_000 }, () => {
  let anthropic: Anthropic;
  let openai: OpenAI;
  let node: RippleDaemon;
  const LIVE = "tiny-live";

  it("starts a single local node", async () => {
    node = fleet.up("anthropic", ["--network", "local", "--no-measure"]);
    await node.waitUntilRunning();
    const { url } = await readApiDescriptor(node.dataDir);
    anthropic = new Anthropic({ baseURL: url, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
    openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 30_000 });
  });

  it("lists each served model with its real sha256", async () => {
    type Listed = { id: string; ripple?: { sha256?: string; sha256_variants?: Array<{ sha256: string; nodes: number }>; local?: boolean; moe?: boolean } };
    const models = await waitFor(
      "this node's models in GET /v1/models",
      async () => {
        const list: Listed[] = [];
        for await (const m of openai.models.list()) list.push(m as Listed);
        return list.some((m) => m.id === TINY) ? list : undefined;
      },
      { timeoutMs: 30_000, diagnostics: fleet.diagnostics },
    );
    expect(models[0]!.id).toBe(MOE_MODEL_ID);
    const served = models.filter((m) => m.id !== MOE_MODEL_ID);
    for (const m of served) {
      const sha256 = expectedSha256(m.id);
      expect(m.ripple, m.id).toMatchObject({ sha256, sha256_variants: [{ sha256, nodes: 1 }], local: true });
    }
    console.log(`[anthropic] models: ${served.map((m) => `${m.id} ${m.ripple!.sha256!.slice(0, 12)}…`).join(", ")}`);
  });

  let answer = "";

  it("streams an answer from the tiny model through the official SDK", async () => {
    const t0 = Date.now();
    const stream = anthropic.messages.stream({ model: TINY, system: "You are terse.", messages: [{ role: "user", content: "Say something." }], max_tokens: 24 });
    const deltas: string[] = [];
    stream.on("text", (t) => deltas.push(t));
    // Who answered travels in message_delta's `ripple` field (the SDK's assembled message keeps only Anthropic's fields).
    let ripple: unknown;
    stream.on("streamEvent", (e) => {
      if (e.type === "message_delta") ripple = (e as unknown as { ripple?: unknown }).ripple;
    });
    const final = await stream.finalMessage();
    answer = deltas.join("");
    // The worker forwards tokens in batches over libp2p: the tiny model (thousands of tokens/s) may fit in one.
    expect(deltas.length).toBeGreaterThanOrEqual(1);
    expect(answer.trim()).not.toBe("");
    expect(final.content).toEqual([{ type: "text", text: answer }]);
    expect(["end_turn", "max_tokens"]).toContain(final.stop_reason);
    expect(final.usage.input_tokens).toBeGreaterThan(0);
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    expect(final.usage.output_tokens).toBeLessThanOrEqual(25);
    expect(ripple).toMatchObject({ peer: "anthropic" });
    console.log(`[anthropic] ${deltas.length} deltas, ${final.usage.input_tokens} in / ${final.usage.output_tokens} out, ${final.stop_reason}, ${Date.now() - t0} ms: ${JSON.stringify(answer)}`);
  });

  it("counts a request's tokens exactly as the answer's usage reports them (messages.countTokens)", async () => {
    const req = { model: TINY, system: "You are terse.", messages: [{ role: "user" as const, content: "Say something." }, { role: "assistant" as const, content: "Something." }, { role: "user" as const, content: "Again, please." }] };
    const counted = await anthropic.messages.countTokens(req);
    const answered = await anthropic.messages.create({ ...req, max_tokens: 4 });
    expect(counted.input_tokens).toBeGreaterThan(10);
    expect(counted.input_tokens).toBe(answered.usage.input_tokens);
    // ripple-moe: the prompt the MOE sends its experts, counted with one of their models held here.
    const moe = (await anthropic.messages.countTokens({ ...req, model: MOE_MODEL_ID })) as { input_tokens: number; ripple?: { counted_with?: string } };
    expect(moe.input_tokens).toBeGreaterThan(5);
    expect(moe.ripple?.counted_with).toBeTruthy();
    console.log(`[anthropic] count_tokens: ${counted.input_tokens} (usage ${answered.usage.input_tokens}); ripple-moe ${moe.input_tokens} with ${moe.ripple?.counted_with}`);
  });

  it("ends a greedy answer at a stop sequence and names it", async () => {
    // A piece of the greedy answer, not at its start: the same request stopped there must give the text before it.
    const words = [...answer.matchAll(/\S{2,4}/g)].filter((m) => m.index! > 0);
    expect(words.length, `no usable stop sequence in ${JSON.stringify(answer)}`).toBeGreaterThan(0);
    const stop = words[Math.floor(words.length / 2)]![0];
    const m = await anthropic.messages.create({ model: TINY, system: "You are terse.", messages: [{ role: "user", content: "Say something." }], max_tokens: 24, stop_sequences: [stop] });
    expect(m).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: stop });
    const before = answer.slice(0, answer.indexOf(stop));
    expect(m.content).toEqual(before === "" ? [] : [{ type: "text", text: before }]);
  });

  it("serves and advertises a model added with `ripple models add` while it runs, and drops it on `ripple models rm`", async () => {
    const listed = async () => {
      const ids: string[] = [];
      for await (const m of openai.models.list()) ids.push(m.id);
      return ids;
    };
    // A second name for the tiny model's file (inside the models directory: registered where it is).
    const add = await ripple(["--data-dir", node.dataDir, "models", "add", join(modelsDir(), `${TINY}.gguf`), "--name", LIVE]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain(`the running node serves it now (+${LIVE}) and advertised it to the mesh`);
    // Listed from the capability this node re-published (GET /v1/models reads the mesh's adverts).
    await waitFor("the added model in GET /v1/models", async () => ((await listed()).includes(LIVE) ? true : undefined), { timeoutMs: 60_000, diagnostics: fleet.diagnostics });
    const m = await anthropic.messages.create({ model: LIVE, messages: [{ role: "user", content: "Say something." }], max_tokens: 8 });
    expect(m.usage.output_tokens).toBeGreaterThan(0);

    const rm = await ripple(["--data-dir", node.dataDir, "models", "rm", LIVE]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain(`the running node serves it now (-${LIVE}) and advertised it to the mesh`);
    await waitFor("the removed model gone from GET /v1/models", async () => ((await listed()).includes(LIVE) ? undefined : true), { timeoutMs: 60_000, diagnostics: fleet.diagnostics });
    const local = (await (await fetch(`${(await readApiDescriptor(node.dataDir)).url}/v1/models/local`)).json()) as Array<{ name: string }>;
    expect(local.map((x) => x.name)).not.toContain(LIVE);
    await expect(anthropic.messages.create({ model: LIVE, messages: [{ role: "user", content: "Say something." }], max_tokens: 8 })).rejects.toThrow(/tiny-live/);
    expect(existsSync(join(modelsDir(), `${TINY}.gguf`))).toBe(true);
  });
});
