// node-llama-cpp, imported on first use rather than when the daemon starts. Importing it costs the
// daemon ~34 MiB of resident memory and opening llama.cpp ~7 MiB more (issue #22, Node 20, measured
// in a bare process), which a node that serves nothing never needs: the start-up probe runs in a
// child process (capability/start-probe.ts) and the engine opens llama.cpp when a model first loads. Every
// module that needs a value from node-llama-cpp (not only its types) gets it here.
export type LlamaModule = typeof import("node-llama-cpp");

let loading: Promise<LlamaModule> | undefined;

export function llamaModule(): Promise<LlamaModule> {
  loading ??= import("node-llama-cpp").catch((err: unknown) => {
    loading = undefined; // a failed import is tried again by the next caller
    throw err;
  });
  return loading;
}
