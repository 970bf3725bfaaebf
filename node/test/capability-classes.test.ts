// Hardware classes: the manifest's schema and errors, and classification (boundaries, GPUs,
// reference tokens/s, order independence). Pure and fast: no probe, no model.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { versionsFile } from "../src/config/paths.mjs";
import {
  classifyHardware,
  hardwareClassesFile,
  HardwareClassesManifestError,
  loadHardwareClasses,
  type ClassificationFacts,
  type HardwareClass,
} from "../src/capability/hardware-classes.ts";
import { loadVersions } from "../src/config/toolchain.ts";

const manifest = loadHardwareClasses();
const classes = manifest.classes;
const facts = (f: Partial<ClassificationFacts>): ClassificationFacts => ({ cpuCores: 1, ramGb: 1, gpuVramGb: null, referenceTokensPerSecond: null, ...f });
const classify = (f: Partial<ClassificationFacts>, list: readonly HardwareClass[] = classes) => classifyHardware(facts(f), list).id;
const byId = (id: string) => {
  const c = classes.find((k) => k.id === id);
  if (!c) throw new Error(`no class ${id} in the manifest`);
  return c.minimum;
};

describe("hardware_classes.json", () => {
  it("lists the six classes from least to most capable, with ids of at most 32 characters", () => {
    expect(classes.map((c) => c.id)).toEqual(["cpu-edge", "cpu-laptop", "cpu-workstation", "gpu-consumer", "gpu-workstation", "gpu-datacenter"]);
    for (const c of classes) expect(c.id.length).toBeLessThanOrEqual(32);
  });

  it("names the pinned default model of versions.json as its reference model", () => {
    expect(manifest.reference_model).toBe(loadVersions(versionsFile).models.default.name);
  });

  it("every GPU class needs VRAM and no CPU class does", () => {
    for (const c of classes) expect(c.minimum.gpu_vram_gb === null, c.id).toBe(c.id.startsWith("cpu-"));
  });
});

describe("manifest errors name the file, the key and the fix", () => {
  const dir = mkdtempSync(join(tmpdir(), "ripple-classes-"));
  const original = JSON.parse(readFileSync(hardwareClassesFile, "utf8"));
  const broken = (name: string, edit: (m: any) => void) => {
    const m = structuredClone(original);
    edit(m);
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(m));
    return file;
  };
  const errorOf = (file: string) => {
    try {
      loadHardwareClasses(file);
    } catch (e) {
      return e as Error;
    }
    throw new Error(`${file} loaded without an error`);
  };

  it("an unknown key", () => {
    const file = broken("unknown-key", (m) => (m.classes[1].minimum.gpu_count = 1));
    const err = errorOf(file);
    expect(err).toBeInstanceOf(HardwareClassesManifestError);
    expect(err.message).toContain(file);
    expect(err.message).toContain("classes.1.minimum");
    expect(err.message).toContain("gpu_count");
    expect(err.message).toContain("Fix:");
  });

  it("a missing field", () => {
    const file = broken("missing-field", (m) => delete m.classes[3].minimum.gpu_vram_gb);
    const err = errorOf(file);
    expect(err).toBeInstanceOf(HardwareClassesManifestError);
    expect(err.message).toContain(file);
    expect(err.message).toContain("classes.3.minimum.gpu_vram_gb");
  });

  it("a duplicate id", () => {
    const file = broken("duplicate-id", (m) => (m.classes[2].id = "cpu-laptop"));
    const err = errorOf(file);
    expect(err.message).toContain(file);
    expect(err.message).toContain("classes.2.id");
    expect(err.message).toMatch(/duplicate id "cpu-laptop"/);
  });

  it("an id longer than 32 characters", () => {
    const file = broken("long-id", (m) => (m.classes[0].id = "x".repeat(33)));
    expect(errorOf(file).message).toContain("classes.0.id");
  });

  it("ranks out of order", () => {
    const file = broken("rank-order", (m) => (m.classes[4].rank = 1));
    expect(errorOf(file).message).toContain("classes.4.rank");
  });

  it("a file that is not JSON", () => {
    const file = join(dir, "not-json.json");
    writeFileSync(file, "{ classes: [");
    const err = errorOf(file);
    expect(err).toBeInstanceOf(HardwareClassesManifestError);
    expect(err.message).toContain(file);
  });
});

describe("classifyHardware", () => {
  it("a machine exactly at a class's minimums qualifies; just below does not", () => {
    const laptop = byId("cpu-laptop");
    expect(classify({ cpuCores: laptop.cpu_cores, ramGb: laptop.ram_gb })).toBe("cpu-laptop");
    expect(classify({ cpuCores: laptop.cpu_cores, ramGb: laptop.ram_gb - 0.01 })).toBe("cpu-edge");
    expect(classify({ cpuCores: laptop.cpu_cores - 1, ramGb: 64 })).toBe("cpu-edge");
  });

  it("GPU classes need a GPU with enough VRAM", () => {
    const consumer = byId("gpu-consumer");
    const big = { cpuCores: 64, ramGb: 512 };
    expect(classify({ ...big, gpuVramGb: null })).toBe("cpu-laptop");
    expect(classify({ ...big, gpuVramGb: consumer.gpu_vram_gb! - 0.01 })).toBe("cpu-laptop");
    expect(classify({ ...big, gpuVramGb: consumer.gpu_vram_gb! })).toBe("gpu-consumer");
    expect(classify({ ...big, gpuVramGb: byId("gpu-workstation").gpu_vram_gb! })).toBe("gpu-workstation");
    expect(classify({ ...big, gpuVramGb: byId("gpu-datacenter").gpu_vram_gb! })).toBe("gpu-datacenter");
  });

  it("a big GPU in a small host is held back by the host's minimums", () => {
    const dc = byId("gpu-datacenter");
    expect(classify({ cpuCores: dc.cpu_cores, ramGb: dc.ram_gb - 0.01, gpuVramGb: 80 })).toBe("gpu-workstation");
    expect(classify({ cpuCores: 4, ramGb: 16, gpuVramGb: 80 })).toBe("gpu-consumer");
  });

  it("the reference tokens/s minimum needs a measurement on the reference model", () => {
    const ws = byId("cpu-workstation");
    const host = { cpuCores: ws.cpu_cores, ramGb: ws.ram_gb };
    expect(classify({ ...host, referenceTokensPerSecond: null })).toBe("cpu-laptop");
    expect(classify({ ...host, referenceTokensPerSecond: ws.reference_tokens_per_second! - 0.1 })).toBe("cpu-laptop");
    expect(classify({ ...host, referenceTokensPerSecond: ws.reference_tokens_per_second! })).toBe("cpu-workstation");
  });

  it("a machine meeting no class gets the lowest one", () => {
    expect(classify({ cpuCores: 0, ramGb: 0 })).toBe("cpu-edge");
    const onlyBig = classes.filter((c) => c.id.startsWith("gpu-"));
    expect(classify({ cpuCores: 1, ramGb: 1 }, onlyBig)).toBe("gpu-consumer");
  });

  it("does not depend on the order of the classes", () => {
    const orders = [classes, [...classes].reverse(), [...classes.slice(3), ...classes.slice(0, 3)], [classes[2]!, classes[5]!, classes[0]!, classes[4]!, classes[1]!, classes[3]!]];
    const grid: Partial<ClassificationFacts>[] = [];
    for (const cpuCores of [0, 1, 2, 4, 8, 16, 64])
      for (const ramGb of [0.25, 4, 7, 16, 30, 120, 512])
        for (const gpuVramGb of [null, 4, 6, 20, 38, 80]) for (const referenceTokensPerSecond of [null, 10, 40]) grid.push({ cpuCores, ramGb, gpuVramGb, referenceTokensPerSecond });
    for (const f of grid) {
      const expected = classify(f);
      for (const order of orders) expect(classify(f, order), JSON.stringify(f)).toBe(expected);
    }
    // The grid reaches every class, so the comparison above is not vacuous.
    expect(new Set(grid.map((f) => classify(f)))).toEqual(new Set(classes.map((c) => c.id)));
  });

  it("refuses an empty list", () => {
    expect(() => classifyHardware(facts({}), [])).toThrow(/no hardware classes/);
  });
});
