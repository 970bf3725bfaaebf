export * from "./agent-registry.ts";
export * from "./hashes.ts";
export type { ZomeCaller } from "./zome-caller.ts";
export * from "./resource-mesh.ts";
