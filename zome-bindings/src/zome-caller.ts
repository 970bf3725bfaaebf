/** What the bindings need from a conductor: one zome call. The daemon's Conductor implements it. */
export interface ZomeCaller {
  callZome<T = unknown>(req: { role: string; zome: string; fn: string; payload?: unknown }): Promise<T>;
}
