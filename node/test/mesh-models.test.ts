// meshModels(): the models of GET /v1/models from the online nodes' adverts, with the sha256 each name
// stands for (this node's own from its model store; else the one most nodes advertise) and every
// distinct sha256 advertised under one name.
import { describe, expect, it } from "vitest";
import { meshModels } from "../src/mesh/mesh-models.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);

function peer(self: boolean, online: boolean, refs: Array<[string, string | null]>) {
  return { self, online, models: refs.map(([name]) => name), modelRefs: refs.map(([name, sha256]) => ({ name, sha256 })) };
}

describe("meshModels", () => {
  it("reports each model's advertised sha256, and this node's own from its store", () => {
    const models = meshModels(
      [peer(true, true, [["tiny", A]]), peer(false, true, [["tiny", A], ["qwen", B]]), peer(false, false, [["gemma", C]])],
      (name) => (name === "tiny" ? A : undefined),
    );
    expect(models).toEqual([
      { name: "qwen", sha256: B, sha256Variants: [{ sha256: B, nodes: 1 }], nodes: 1, local: false },
      { name: "tiny", sha256: A, sha256Variants: [{ sha256: A, nodes: 2 }], nodes: 2, local: true },
    ]);
  });

  it("lists every variant when nodes serve different files under one name: this node's first, else the majority's", () => {
    const peers = [peer(true, true, [["tiny", C]]), peer(false, true, [["tiny", A]]), peer(false, true, [["tiny", A]]), peer(false, true, [["tiny", B]])];
    // The store wins over this node's own (possibly stale) advert.
    const local = meshModels(peers, () => B);
    expect(local[0]).toMatchObject({ sha256: B, nodes: 4, local: true });
    expect(local[0]!.sha256Variants).toEqual([
      { sha256: A, nodes: 2 },
      { sha256: B, nodes: 2 },
    ]);
    const remote = meshModels(peers.slice(1));
    expect(remote[0]).toMatchObject({ sha256: A, local: false, sha256Variants: [{ sha256: A, nodes: 2 }, { sha256: B, nodes: 1 }] });
  });

  it("says \"\" when no serving node advertises a sha256 (a CID only)", () => {
    expect(meshModels([peer(false, true, [["x", null]])])).toEqual([{ name: "x", sha256: "", sha256Variants: [], nodes: 1, local: false }]);
  });
});
