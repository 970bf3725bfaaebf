// Which models go to the GPU, and how much of each: the VRAM half of the engine's memory budget.
// Pure arithmetic over node-llama-cpp's own figures (GgufInsights estimates and getVramState), so it is
// unit-tested without a GPU and the engine only carries out the plan.
//
// The rules, in order (the RAM budget works the same way, see inference-engine.ts):
// 1. A model's VRAM need grows linearly with the layers it offloads: its weights and the KV cache of
//    its contexts are per layer (llama.cpp keeps a layer's KV beside its weights).
// 2. The room is the smaller of what the budget leaves (budget − models already on the GPU) and what
//    the card has free right now (other programs use it too): never ask for more than the card has.
// 3. When the whole model does not fit, idle models on the GPU are unloaded least recently used first
//    until it does. A model bigger than everything idle models could free takes all that room
//    (they are all unloaded) and is partially offloaded: as many whole layers as fit, the rest on CPU.
// 4. `gpu_layers: N` caps the layers; 0 keeps the model on the CPU. Busy models are never unloaded.

export interface GpuModelNeed {
  name: string;
  /** Layers the model can offload (node-llama-cpp: insights.totalLayers). */
  totalLayers: number;
  /** VRAM with every layer offloaded: weights + all contexts' KV/compute buffers (insights estimates). */
  fullVramBytes: number;
}

export interface GpuResident {
  name: string;
  vramBytes: number;
  lastUsedMs: number;
  busy: boolean;
}

export interface GpuPlanInput {
  need: GpuModelNeed;
  /** VRAM all models may take together (the policy's gpu_memory_budget_gb, resolved). */
  budgetBytes: number;
  /** VRAM free on the card now (llama.getVramState().free). */
  cardFreeBytes: number;
  /** Models on the GPU now. */
  resident: GpuResident[];
  /** The policy's gpu_layers. */
  maxLayers: "auto" | number;
}

export interface GpuPlan {
  /** Layers to offload (0: CPU only). */
  gpuLayers: number;
  /** Estimated VRAM those layers take. */
  vramBytes: number;
  /** Idle models to unload first, in order. */
  evict: string[];
  /** One line on why, for the load's log entry. */
  reason: string;
}

export function vramForLayers(need: GpuModelNeed, layers: number): number {
  if (need.totalLayers <= 0) return 0;
  return Math.ceil((need.fullVramBytes * Math.min(layers, need.totalLayers)) / need.totalLayers);
}

export function planGpuLoad(input: GpuPlanInput): GpuPlan {
  const { need } = input;
  const wanted = Math.min(need.totalLayers, input.maxLayers === "auto" ? need.totalLayers : Math.max(0, Math.floor(input.maxLayers)));
  if (wanted === 0) return { gpuLayers: 0, vramBytes: 0, evict: [], reason: input.maxLayers === 0 ? "gpu_layers is 0" : "the model has no layers to offload" };
  const wantedBytes = vramForLayers(need, wanted);

  let used = input.resident.reduce((sum, m) => sum + m.vramBytes, 0);
  // What evicting a model gives back shows up in the card's free figure as well as in the budget.
  let cardFree = input.cardFreeBytes;
  const room = () => Math.max(0, Math.min(input.budgetBytes - used, cardFree));
  const evict: string[] = [];
  const idle = input.resident.filter((m) => !m.busy).sort((a, b) => a.lastUsedMs - b.lastUsedMs);
  for (const victim of idle) {
    if (room() >= wantedBytes) break;
    evict.push(victim.name);
    used -= victim.vramBytes;
    cardFree += victim.vramBytes;
  }

  if (room() >= wantedBytes) {
    const whole = wanted === need.totalLayers ? "all" : `${wanted} (gpu_layers)`;
    return { gpuLayers: wanted, vramBytes: wantedBytes, evict, reason: `${whole} of ${need.totalLayers} layers fit` };
  }
  // Partial offload: the whole layers that fit in the room left.
  const perLayer = need.fullVramBytes / need.totalLayers;
  const layers = perLayer > 0 ? Math.min(wanted, Math.floor(room() / perLayer)) : 0;
  if (layers === 0) {
    // Nothing fits: unloading idle models would not help this one, so keep them.
    return { gpuLayers: 0, vramBytes: 0, evict: [], reason: `no layer fits in the ${mib(room())} of VRAM left (a layer needs ${mib(perLayer)})` };
  }
  return {
    gpuLayers: layers,
    vramBytes: vramForLayers(need, layers),
    evict,
    reason: `${layers} of ${need.totalLayers} layers fit in the ${mib(room())} of VRAM left (the rest run on the CPU)`,
  };
}

/** The VRAM budget `auto` resolves to: free VRAM at start less a margin for the driver and other programs. */
export function autoGpuBudgetBytes(cardFreeBytes: number): number {
  const margin = Math.max(512 * 2 ** 20, cardFreeBytes * 0.1);
  return Math.max(0, cardFreeBytes - margin);
}

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
