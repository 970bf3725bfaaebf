// What this node knows about its own machine, probed once at start (systeminformation,
// node-llama-cpp's GPU view, a measured tokens/s) and turned into the capability it advertises.
import { existsSync } from "node:fs";
import type { PrivateKey } from "@libp2p/interface";
import type { CapabilityDraft, Load, ModelRef } from "@ripple-mesh/zome-bindings";
import type { Llama } from "node-llama-cpp";
import type { Logger } from "../log.ts";
import { capabilityDraft } from "./capability-draft.ts";
import { sampleLoad } from "./load-sampler.ts";
import { pinnedDefaultModel, probeMachine, type MachineFacts } from "./probe.ts";

export interface NodeFactsOptions {
  dataDir: string;
  log: Logger;
  /** Time a short generation on the default model (skipped by tests that do not need it). */
  measureTokens: boolean;
  /** Threads for the measurement: one keeps the other core free for the conductor. */
  threads?: number;
  /** The inference engine's llama.cpp: the GPU view and the measurement are those of the backend that serves. */
  llama?: Llama;
}

export class NodeFacts {
  private facts: MachineFacts | undefined;

  constructor(private readonly opts: NodeFactsOptions) {}

  async probe(): Promise<MachineFacts> {
    this.opts.log.info({ step: "probe", measureTokens: this.opts.measureTokens }, "probing this machine's capability");
    this.facts = await probeMachine({
      threads: this.opts.threads ?? 1,
      log: this.opts.log,
      dataDir: this.opts.dataDir,
      measureTokens: this.opts.measureTokens ? 32 : 0,
      ...(this.opts.llama ? { llama: this.opts.llama } : {}),
    });
    this.opts.log.info({ hardwareClass: this.facts.hardwareClass, tokensPerSecond: this.tokensPerSecond, ms: Math.round(this.facts.durationMs) }, "probe done");
    return this.facts;
  }

  get hardwareClass(): string | undefined {
    return this.facts?.hardwareClass;
  }

  get tokensPerSecond(): number {
    return this.facts?.tokensPerSecond?.tokensPerSecond ?? 0;
  }

  /** The models this node can serve: the pinned default model once setup has placed it. */
  models(): ModelRef[] {
    const model = pinnedDefaultModel();
    return existsSync(model.path) ? [{ name: model.name, sha256: model.sha256, cid: null }] : [];
  }

  /** `models` replaces the default (the pinned default model) with what the node's model store serves. */
  async draft(input: { name: string; agentPubKey: Uint8Array; multiaddrs: string[]; libp2pKey: PrivateKey; models?: ModelRef[]; maxConcurrent?: number }): Promise<CapabilityDraft> {
    return capabilityDraft({ ...input, models: input.models ?? this.models(), ...(this.facts ? { probe: this.facts } : {}), load: await this.sampleLoad() });
  }

  sampleLoad(): Promise<Load> {
    return sampleLoad();
  }
}
