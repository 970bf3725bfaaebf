// The one lifecycle owner: starts the node's seams in order (toolchain check → local
// bootstrap/relay server → conductor → capability advertised) and stops them in reverse.
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { encodeHashToBase64 } from "@holochain/client";
import { agentRegistry } from "@ripple-mesh/zome-bindings";
import { happFile } from "../setup/paths.mjs";
import { BootstrapServer } from "./bootstrap/bootstrap-server.ts";
import { capabilityDraft } from "./capability/capability-draft.ts";
import { Conductor } from "./conductor/conductor.ts";
import { assertPinnedDnaHashes, type NetworkName } from "./conductor/dna-pins.ts";
import { loadNetworks } from "../setup/networks.mjs";
import { nodePaths } from "./config/node-paths.ts";
import { checkToolchain } from "./config/toolchain.ts";
import { RippleError } from "./errors.ts";
import { loadOrCreateLibp2pKey } from "./identity/libp2p-key.ts";
import type { Logger } from "./log.ts";

export interface DaemonOptions {
  dataDir: string;
  name: string;
  log: Logger;
  binDir?: string;
  /** The mesh to join; only `local` can be started yet (the `ripple` CLI brings testnet/mainnet). */
  network?: NetworkName;
}

export interface DaemonStatus {
  name: string;
  network: NetworkName;
  agentPubKey: string;
  bootstrapUrl: string;
  dataDir: string;
  peers: number;
}

export class Daemon {
  private bootstrap: BootstrapServer | undefined;
  private conductor: Conductor | undefined;

  constructor(private readonly opts: DaemonOptions) {}

  private get network(): NetworkName {
    return this.opts.network ?? "local";
  }

  async start(): Promise<DaemonStatus> {
    const { log } = this.opts;
    const paths = nodePaths(this.opts.dataDir);
    log.info({ step: "toolchain" }, "checking the pinned toolchain");
    const tc = await checkToolchain(this.opts.binDir ? { binDir: this.opts.binDir } : {});
    if (!existsSync(happFile)) throw new RippleError(`${happFile} does not exist`, "run `npm run setup` to build it");
    const network = this.network;
    log.info({ step: "dna-pins", network }, "checking this build's DNA hashes against the network's pins");
    await assertPinnedDnaHashes(network, happFile);
    const networkSeed = loadNetworks().networks[network]!.network_seed;

    log.info({ step: "bootstrap" }, "starting the local mesh's bootstrap/relay server");
    this.bootstrap = new BootstrapServer({ binary: tc.path("kitsune2-bootstrap-srv"), logDir: paths.logDir, log });
    const bootstrapUrl = await this.bootstrap.start();

    log.info({ step: "conductor", bootstrapUrl }, "starting the Holochain conductor");
    this.conductor = new Conductor({
      holochainBinary: tc.path("holochain"),
      paths,
      bootstrapUrl,
      relayUrl: bootstrapUrl,
      networkSeed,
      happFile,
      fastGossip: true,
      log,
    });
    await this.conductor.start();

    log.info({ step: "advertise" }, "publishing this node's capability");
    const libp2pKey = await loadOrCreateLibp2pKey(paths.libp2pKey);
    const draft = await capabilityDraft({ name: this.opts.name, agentPubKey: this.conductor.agentPubKey, libp2pKey });
    await agentRegistry(this.conductor).publishCapability(draft);
    return this.status();
  }

  async status(): Promise<DaemonStatus> {
    if (!this.conductor || !this.bootstrap) throw new RippleError("the daemon is not running", "start it with `npm start`");
    const peers = await agentRegistry(this.conductor).listNodes();
    const agents = new Set(peers.map((p) => encodeHashToBase64(p.author)));
    return {
      name: this.opts.name,
      network: this.network,
      agentPubKey: encodeHashToBase64(this.conductor.agentPubKey),
      bootstrapUrl: this.bootstrap.url,
      dataDir: this.opts.dataDir,
      peers: agents.size,
    };
  }

  async stop(): Promise<void> {
    await this.conductor?.stop();
    await this.bootstrap?.stop();
  }
}

export function defaultNodeName(): string {
  return hostname().slice(0, 64) || "ripple-node";
}
