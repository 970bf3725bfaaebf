// A shared context's batches (batch-order.ts): tokens in sequence-id order so that llama.cpp makes
// one pass over the weights per step, each item's fair share of the batch, and a step that waits a
// few microtasks for a generating sequence still queuing its token.
import type { BatchItem } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { BatchOrder, MAX_DEFERRALS, orderBatch, passesOf } from "../src/inference/batch-order.ts";

const item = (n: number): BatchItem => ({ tokens: Array.from({ length: n }, (_, i) => i as never), logits: [true], evaluationPriority: 5 });

describe("orderBatch", () => {
  it("puts the items in sequence-id order, whatever order their samplings ended in", () => {
    const items = [4, 3, 0, 5, 6, 7, 2].map(() => item(1));
    const ids = new Map(items.map((it, i) => [it, [4, 3, 0, 5, 6, 7, 2][i]!]));
    const ordered = orderBatch(items, 512, (it) => ids.get(it));
    expect(ordered.map((g) => ids.get(g.item))).toEqual([0, 2, 3, 4, 5, 6, 7]);
    expect(ordered.every((g) => g.processAmount === 1)).toBe(true);
  });

  it("gives each item an equal share of a full batch, then what is left to those with more, and drops none that fit", () => {
    const [prompt, a, b] = [item(600), item(1), item(1)];
    const ids = new Map([[prompt, 2], [a, 0], [b, 1]]);
    const ordered = orderBatch([prompt, a, b], 512, (it) => ids.get(it));
    expect(ordered.map((g) => [ids.get(g.item), g.processAmount])).toEqual([[0, 1], [1, 1], [2, 510]]);
    expect(ordered.reduce((sum, g) => sum + g.processAmount, 0)).toBe(512);
  });

  it("keeps items of unknown sequence after the known ones, in their own order", () => {
    const [x, y, z] = [item(1), item(1), item(1)];
    const ordered = orderBatch([x, y, z], 8, (it) => (it === z ? 0 : undefined));
    expect(ordered.map((g) => g.item)).toEqual([z, x, y]);
  });
});

describe("passesOf (llama.cpp's passes over a batch with a KV stream per sequence)", () => {
  it("counts runs of consecutive ascending sequence ids", () => {
    expect(passesOf([0, 1, 2, 3, 4, 5, 6, 7])).toBe(1);
    expect(passesOf([0, 1, 2, 4, 5, 6, 7])).toBe(2);
    expect(passesOf([4, 3, 0, 5, 6, 7, 2])).toBe(5);
    expect(passesOf([])).toBe(0);
  });
});

describe("BatchOrder.strategy", () => {
  it("returns an empty batch (node-llama-cpp goes round once more) while fewer sequences are queued than generate, at most MAX_DEFERRALS times", () => {
    const order = new BatchOrder(() => 3);
    const two = [item(1), item(1)];
    for (let i = 0; i < MAX_DEFERRALS; i++) expect(order.strategy({ items: two, size: 512 })).toEqual([]);
    expect(order.strategy({ items: two, size: 512 })).toHaveLength(2);
    // The count starts again at the next step; all three queued: no wait.
    expect(order.strategy({ items: [item(1), item(1), item(1)], size: 512 })).toHaveLength(3);
    expect(order.stats).toMatchObject({ batches: 2, sequences: 5 });
  });
});
