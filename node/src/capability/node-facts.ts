// What this node knows about its own machine, probed once at start (systeminformation,
// node-llama-cpp's GPU view, a measured tokens/s; start-probe.ts) and turned into the capability it advertises.
import { existsSync } from "node:fs";
import type { CapabilityDraft, Load, ModelRef } from "@ripple-mesh/zome-bindings";
import { capabilityDraft, type DraftInput } from "./capability-draft.ts";
import { sampleLoad } from "./load-sampler.ts";
import { pinnedDefaultModel, type MachineFacts } from "./probe.ts";

export class NodeFacts {
  /** What the start-up probe found (start-probe.ts; run once per `ripple up`, in a child process). */
  constructor(private readonly facts: MachineFacts) {}

  get hardwareClass(): string | undefined {
    return this.facts.hardwareClass;
  }

  get tokensPerSecond(): number {
    return this.facts.tokensPerSecond?.tokensPerSecond ?? 0;
  }

  /** The models this node can serve: the pinned default model once setup has placed it. */
  models(): ModelRef[] {
    const model = pinnedDefaultModel();
    return existsSync(model.path) ? [{ name: model.name, sha256: model.sha256, cid: null }] : [];
  }

  /** `models` replaces the default (the pinned default model) with what the node's model store serves. */
  async draft(input: Pick<DraftInput, "name" | "agentPubKey" | "libp2pKey" | "models" | "maxConcurrent" | "serving"> & { multiaddrs: string[] }): Promise<CapabilityDraft> {
    return capabilityDraft({ ...input, models: input.models ?? this.models(), probe: this.facts, load: await this.sampleLoad() });
  }

  sampleLoad(): Promise<Load> {
    return sampleLoad();
  }
}
