// Which mesh a node joins and how it reaches it: the network's manifest entry
// (manifests/holochain/networks.json) plus a person's overrides. `local` needs no URL (its nodes
// elect a host among themselves); testnet and mainnet need their operator's bootstrap/relay URL.
import { loadNetworks, type NetworkSpec } from "./networks.mjs";
import { RippleError } from "../errors.ts";

export type NetworkName = "local" | "testnet" | "mainnet";

export const networkNames: readonly NetworkName[] = ["local", "testnet", "mainnet"];

export interface NetworkChoice {
  name: NetworkName;
  spec: NetworkSpec;
  /** null for `local`: the elected local host's server provides it. */
  bootstrapUrl: string | null;
  relayUrl: string | null;
}

export class UnknownNetworkError extends RippleError {}
export class MissingBootstrapUrlError extends RippleError {}

export function isNetworkName(name: string): name is NetworkName {
  return (networkNames as readonly string[]).includes(name);
}

export function chooseNetwork(name: string, overrides: { bootstrapUrl?: string | undefined } = {}): NetworkChoice {
  if (!isNetworkName(name)) {
    throw new UnknownNetworkError(`unknown network "${name}"`, `use one of ${networkNames.join(", ")}`);
  }
  const spec = loadNetworks().networks[name];
  if (!spec) throw new UnknownNetworkError(`manifests/holochain/networks.json has no "${name}" entry`, "restore it with `git checkout -- manifests/holochain/networks.json`");
  if (name === "local") {
    // A local mesh may still be pointed at a fixed server (e.g. one run with `ripple bootstrap serve`).
    const url = overrides.bootstrapUrl ?? null;
    return { name, spec, bootstrapUrl: url, relayUrl: url };
  }
  const bootstrapUrl = overrides.bootstrapUrl ?? spec.bootstrap_url;
  if (!bootstrapUrl) {
    throw new MissingBootstrapUrlError(
      `${name} has no bootstrap URL configured`,
      `pass the URL its operator publishes: \`ripple up --network ${name} --bootstrap http://HOST:PORT\``,
    );
  }
  // One kitsune2 server serves both bootstrap and relay; a given --bootstrap replaces both.
  const relayUrl = overrides.bootstrapUrl ?? spec.relay_url ?? bootstrapUrl;
  return { name, spec, bootstrapUrl: normalizeUrl(bootstrapUrl), relayUrl: normalizeUrl(relayUrl) };
}

/**
 * Every node of a mesh must use the identical relay URL string (DESIGN.md), so strip what people
 * add by habit (a trailing slash) and reject what cannot work.
 */
export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RippleError(`"${raw}" is not a URL`, "give it as http://HOST:PORT or https://HOST");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RippleError(`"${raw}" is not an http(s) URL`, "give it as http://HOST:PORT or https://HOST");
  }
  return raw.replace(/\/+$/, "");
}
