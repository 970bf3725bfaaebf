// llama.cpp on a chosen backend, opened once, when first needed. The engine holds one: a node that
// serves nothing never opens llama.cpp (nor loads node-llama-cpp; llama-module.ts says why).
// Concurrent first users share one open; a failed open fails its callers and the next use tries
// again; dispose() frees whatever was opened, including llama.cpp handed over already open.
import type { Llama } from "node-llama-cpp";
import type { BackendChoice } from "@ripple-mesh/api-types";
import { openBackend, type OpenedLlama } from "./llama-backend.ts";

export class LazyLlama {
  #opening: Promise<Llama> | undefined;

  constructor(
    /** The backend that serves, and why. */
    readonly choice: BackendChoice,
    private readonly open: () => Promise<Llama>,
  ) {}

  /** llama.cpp already open (the in-process default, tests): owned from now on. */
  static opened({ llama, choice }: OpenedLlama): LazyLlama {
    const lazy = new LazyLlama(choice, async () => llama);
    lazy.#opening = Promise.resolve(llama);
    return lazy;
  }

  /**
   * A backend chosen elsewhere (the start-up probe's child process): exactly that backend, or the
   * CPU one. A GPU backend that loaded in the child loads here too unless the driver changed in
   * between; then the load fails with the reason and the node keeps running.
   */
  static forChoice(choice: BackendChoice, threads: number): LazyLlama {
    return new LazyLlama(choice, () => openBackend(choice.backend, threads));
  }

  /** Whether llama.cpp has been opened (or is being opened). */
  get opened(): boolean {
    return this.#opening !== undefined;
  }

  get(): Promise<Llama> {
    if (!this.#opening) {
      const opening = this.open();
      this.#opening = opening;
      opening.catch(() => {
        if (this.#opening === opening) this.#opening = undefined;
      });
    }
    return this.#opening;
  }

  async dispose(): Promise<void> {
    const llama = await this.#opening?.catch(() => undefined);
    await llama?.dispose();
  }
}
