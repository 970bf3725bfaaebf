// The capability probe: what this machine can offer the mesh. Facts come from systeminformation,
// node-llama-cpp's own GPU view and a measured decode speed. Every part is time-boxed and
// failure-tolerant: a part that fails or times out logs a warning and yields a conservative value
// (Node's `os` figures, no GPU, no measurement), so a probe never stops a node from starting.
import { existsSync, realpathSync, statfsSync } from "node:fs";
import { arch, availableParallelism, cpus, freemem, totalmem } from "node:os";
import { dirname, join, resolve, sep } from "node:path";
import type { Llama, LlamaGpuType } from "node-llama-cpp";
import { llamaModule } from "../inference/llama-module.ts";
import si from "systeminformation";
import { modelsDir as defaultModelsDir, versionsFile } from "../config/paths.mjs";
import { loadVersions } from "../config/toolchain.ts";
import type { Logger } from "../log.ts";
import { classifyHardware, loadHardwareClasses, type HardwareClasses } from "./hardware-classes.ts";
import { measureTokensPerSecond } from "./tokens-per-second.ts";

export interface ModelFile {
  name: string;
  path: string;
  sha256: string;
}

export interface GpuInfo {
  vendor: string;
  model: string;
  /** null when the source does not know it (or only knows shared, dynamic memory). */
  vramGb: number | null;
  source: "systeminformation" | "node-llama-cpp";
}

export interface MachineFacts {
  cpu: { physicalCores: number; logicalCores: number; brand: string; arch: string };
  memory: { totalGb: number; availableGb: number };
  /** The filesystem holding the data directory. */
  disk: { path: string; mount: string | null; totalGb: number; freeGb: number };
  /** Every GPU either source reported (for logs and the UI). */
  gpus: GpuInfo[];
  /** The GPU local inference can use, or null. */
  gpu: GpuInfo | null;
  /** node-llama-cpp's backend: "cuda" | "vulkan" | "metal", or false for CPU only (also when not asked). */
  llamaGpu: LlamaGpuType;
  tokensPerSecond: { model: string; sha256: string; threads: number; tokens: number; tokensPerSecond: number } | null;
  hardwareClass: string;
  /** One line per part that failed or timed out. */
  warnings: string[];
  durationMs: number;
}

export type ProbePart = "cpu" | "memory" | "disk" | "graphics" | "llamaGpu" | "tokens";

export interface ProbeOptions {
  /** Threads node-llama-cpp may use: the cores that are actually free. */
  threads: number;
  log: Logger;
  /** Directory whose filesystem's free space is reported (default: the models directory). */
  dataDir?: string;
  modelsDir?: string;
  /** The model to measure; default: the pinned default model of versions.json under the models dir. */
  defaultModel?: ModelFile;
  /** Decode steps to time on the default model; 0 or absent: do not measure. */
  measureTokens?: number;
  /** Let node-llama-cpp look for a GPU backend ("auto", default) or not (false: systeminformation's view only). */
  gpu?: "auto" | false;
  /** llama.cpp as the inference engine opened it: its GPU view and its backend for the measurement (not disposed here). */
  llama?: Llama;
  /** Hardware classes; default: manifests/distributed/hardware_classes.json. */
  classes?: HardwareClasses;
  timeoutsMs?: Partial<Record<ProbePart, number>>;
}

const defaultTimeoutsMs: Record<ProbePart, number> = { cpu: 5_000, memory: 5_000, disk: 5_000, graphics: 10_000, llamaGpu: 30_000, tokens: 120_000 };

export const GIB = 2 ** 30;
const gb = (bytes: number) => Math.round((bytes / GIB) * 100) / 100;

/** The pinned default model (versions.json `models.default`) as a file under the models directory. */
export function pinnedDefaultModel(modelsDir: string = defaultModelsDir(), versions = versionsFile): ModelFile {
  const { name, file, sha256 } = loadVersions(versions).models.default;
  return { name, path: join(modelsDir, file), sha256 };
}

export async function probeMachine(opts: ProbeOptions): Promise<MachineFacts> {
  const started = performance.now();
  const warnings: string[] = [];
  const timeouts = { ...defaultTimeoutsMs, ...opts.timeoutsMs };
  const part = <T>(name: ProbePart, fallback: T, fallbackText: string, run: (signal: AbortSignal) => Promise<T>) =>
    timeBoxed(name, timeouts[name], run).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      warnings.push(`${name}: ${message}; using ${fallbackText}`);
      opts.log.warn({ part: name, err: message }, `capability probe: ${name} failed; using ${fallbackText}`);
      return fallback;
    });

  const modelsDir = opts.modelsDir ?? defaultModelsDir();
  const dataDir = resolve(opts.dataDir ?? modelsDir);
  const logical = availableParallelism();
  const osCpu = { physicalCores: logical, logicalCores: logical, brand: cpus()[0]?.model.trim() || "unknown", arch: arch() };
  const osMemory = { totalGb: gb(totalmem()), availableGb: gb(freemem()) };

  const [cpu, memory, disk, siGpus, llama] = await Promise.all([
    part("cpu", osCpu, "Node's os figures", async () => {
      const c = await si.cpu();
      const brand = `${c.manufacturer} ${c.brand}`.trim() || osCpu.brand;
      // In a container or with CPU affinity the process may use fewer CPUs than the host has.
      return { physicalCores: Math.min(c.physicalCores || logical, logical), logicalCores: logical, brand, arch: arch() };
    }),
    part("memory", osMemory, "Node's os figures", async () => {
      const m = await si.mem();
      return { totalGb: gb(m.total), availableGb: gb(Math.min(m.available, m.total)) };
    }),
    part("disk", { path: dataDir, mount: null, totalGb: 0, freeGb: 0 }, "0 GB free", () => diskOf(dataDir)),
    part("graphics", [] as GpuInfo[], "no GPU", async () => (await si.graphics()).controllers.map(fromSystemInformation)),
    part("llamaGpu", null, "no GPU", () => llamaGpuView(opts.gpu ?? "auto", opts.threads, opts.llama)),
  ]);

  const gpus = [...siGpus, ...(llama?.gpus ?? [])];
  const gpu = chooseGpu(llama, siGpus, opts.gpu ?? "auto");
  if (!gpu && siGpus.some(isDiscrete) && opts.gpu !== false) {
    const seen = siGpus.filter(isDiscrete).map((g) => g.model).join(", ");
    opts.log.warn({ gpus: siGpus }, `capability probe: systeminformation sees ${seen} but node-llama-cpp cannot use it; not advertising a GPU`);
  }

  // Measured alone, after the other parts, so that they do not compete with it for the cores.
  const tokens = opts.measureTokens
    ? await part("tokens", null, "no measurement (0 tokens/s)", async (signal) => {
        const model = opts.defaultModel ?? pinnedDefaultModel(modelsDir);
        const r = await measureTokensPerSecond({ modelPath: model.path, threads: opts.threads, tokens: opts.measureTokens, signal, ...(opts.llama ? { llama: opts.llama } : {}) });
        return { model: model.name, sha256: model.sha256, threads: r.threads, tokens: r.tokens, tokensPerSecond: Math.round(r.tokensPerSecond * 100) / 100 };
      })
    : null;

  let hardwareClass = "unclassified";
  try {
    const classes = opts.classes ?? loadHardwareClasses();
    hardwareClass = classifyHardware(
      {
        cpuCores: cpu.physicalCores,
        ramGb: memory.totalGb,
        gpuVramGb: gpu?.vramGb ?? null,
        referenceTokensPerSecond: tokens && tokens.model === classes.reference_model ? tokens.tokensPerSecond : null,
      },
      classes.classes,
    ).id;
  } catch (err) {
    warnings.push(`hardware class: ${(err as Error).message}; using "unclassified"`);
    opts.log.warn({ err: (err as Error).message }, "capability probe: cannot classify the machine; using \"unclassified\"");
  }

  const facts: MachineFacts = { cpu, memory, disk, gpus, gpu, llamaGpu: llama?.backend ?? false, tokensPerSecond: tokens, hardwareClass, warnings, durationMs: Math.round(performance.now() - started) };
  opts.log.info({ cpu, memory, disk, gpu, tokensPerSecond: tokens, hardwareClass, durationMs: facts.durationMs }, "capability probe done");
  return facts;
}

async function timeBoxed<T>(name: string, ms: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`timed out after ${ms} ms`);
      abort.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([run(abort.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Free space of the filesystem holding `path` (or its nearest existing ancestor). */
async function diskOf(path: string): Promise<MachineFacts["disk"]> {
  let existing = path;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const real = realpathSync(existing);
  const contains = (mount: string) => mount === "/" || real === mount || real.startsWith(mount.endsWith(sep) ? mount : mount + sep);
  const mounts = (await si.fsSize()).filter((f) => f.mount && contains(f.mount)).sort((a, b) => b.mount.length - a.mount.length);
  const fs = mounts[0];
  if (fs) return { path, mount: fs.mount, totalGb: gb(fs.size), freeGb: gb(fs.available) };
  // systeminformation lists only real block devices; overlay or tmpfs data dirs are not among them.
  const st = statfsSync(real);
  return { path, mount: null, totalGb: gb(st.blocks * st.bsize), freeGb: gb(st.bavail * st.bsize) };
}

function fromSystemInformation(c: si.Systeminformation.GraphicsControllerData): GpuInfo {
  // `vram` is in MiB; dynamic (shared system) memory is not dedicated VRAM.
  const vram = c.vramDynamic || !c.vram ? null : Math.round((c.vram / 1024) * 100) / 100;
  return { vendor: c.vendor || "unknown", model: c.model || c.name || "unknown", vramGb: vram, source: "systeminformation" };
}

const isDiscrete = (g: GpuInfo) => g.vramGb !== null && g.vramGb >= 1;

interface LlamaGpuView {
  backend: LlamaGpuType;
  gpus: GpuInfo[];
}

async function llamaGpuView(gpu: "auto" | false, threads: number, shared?: Llama): Promise<LlamaGpuView | null> {
  if (gpu === false) return null;
  const { getLlama, LlamaLogLevel } = await llamaModule();
  const llama = shared ?? (await getLlama({ gpu: "auto", build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error, progressLogs: false }));
  try {
    if (llama.gpu === false) return { backend: false, gpus: [] };
    const [vram, names] = await Promise.all([llama.getVramState(), llama.getGpuDeviceNames()]);
    const vendor = llama.gpu === "cuda" ? "NVIDIA" : llama.gpu === "metal" ? "Apple" : "unknown";
    // getVramState totals every device the backend uses; attribute it to the first one named.
    const model = names.join(" + ") || llama.gpu;
    return { backend: llama.gpu, gpus: vram.total > 0 ? [{ vendor, model, vramGb: gb(vram.total), source: "node-llama-cpp" }] : [] };
  } finally {
    if (!shared) await llama.dispose();
  }
}

/** node-llama-cpp's GPU when it has one (its VRAM figure is what inference gets); else none, unless it was not asked. */
function chooseGpu(llama: LlamaGpuView | null, siGpus: GpuInfo[], gpuOption: "auto" | false): GpuInfo | null {
  const fromLlama = llama?.gpus[0];
  if (fromLlama) {
    // Prefer systeminformation's vendor name (Vulkan says nothing about it) when it sees one discrete GPU.
    const discrete = siGpus.filter(isDiscrete);
    return discrete.length === 1 && fromLlama.vendor === "unknown" ? { ...fromLlama, vendor: discrete[0]!.vendor } : fromLlama;
  }
  if (gpuOption !== false) return null;
  return [...siGpus].filter(isDiscrete).sort((a, b) => b.vramGb! - a.vramGb!)[0] ?? null;
}
