// The node's memory per part for `ripple status`: the daemon (which also holds the loaded models,
// in-process through node-llama-cpp), the conductor, kubo and, when this node hosts it, the local
// mesh's bootstrap/relay server. RSS is read from /proc at the moment the status is asked for.
import type { NativeHeapTrimState, NodeMemory, ProcessMemory } from "@ripple-mesh/api-types";
import { residentBytes } from "../supervisor/process-memory.ts";

export interface NodeMemoryInput {
  conductorPid: number | null | undefined;
  kuboPid: number | null | undefined;
  relayPid: number | null | undefined;
  loadedModels: Array<{ name: string; bytes: number }>;
  nativeHeapTrim: NativeHeapTrimState | null;
}

const part = (pid: number | null | undefined): ProcessMemory | null => (pid ? { pid, rssBytes: residentBytes(pid) } : null);

export function nodeMemory(input: NodeMemoryInput): NodeMemory {
  return {
    daemon: { pid: process.pid, rssBytes: residentBytes(process.pid) },
    conductor: part(input.conductorPid),
    kubo: part(input.kuboPid),
    relay: part(input.relayPid),
    models: input.loadedModels.map((m) => ({ name: m.name, bytes: m.bytes })),
    nativeHeapTrim: input.nativeHeapTrim,
  };
}
