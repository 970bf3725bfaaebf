export * from "./agent-registry.ts";
export * from "./artifact-index.ts";
export * from "./hashes.ts";
export * from "./labels.ts";
export * from "./peer-binding.ts";
export * from "./read-cost.ts";
export * from "./resource-mesh.ts";
export type { ZomeCaller } from "./zome-caller.ts";
