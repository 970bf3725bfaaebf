// The MCP tools holochain.* (seed §11.3): join a mesh, (re)publish this node's capability, list the
// mesh's peers, the conductor's state, and the refusal to install any hApp but the pinned one.
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { networkNames, type NetworkName } from "../config/network-choice.ts";
import type { DaemonLink } from "./daemon-link.ts";
import { checkPinnedHapp } from "./pinned-happ.ts";
import { field, toolInput } from "./tool-input.ts";
import { jsonResult } from "./tool-result.ts";

export const holochainToolNames = ["holochain.join_mesh", "holochain.register_node", "holochain.query_peers", "holochain.init_conductor", "holochain.install_dna"] as const;

export function registerHolochainTools(server: McpServer, link: DaemonLink): void {
  server.registerTool(
    "holochain.join_mesh",
    {
      title: "Join a mesh",
      description:
        "Moves the running node to a mesh (local, testnet or mainnet) and returns its status once joined. Joining another network leaves the current one (its jobs are aborted); asking for the network the node is already on changes nothing. The next `ripple up` joins it too.",
      inputSchema: toolInput("holochain.join_mesh", {
        network: field.oneOf("network", networkNames as readonly NetworkName[] as [NetworkName, ...NetworkName[]], "the mesh to join"),
        bootstrap_url: field
          .text("bootstrap_url", { max: 2048, pattern: /^(https?|wss?):\/\/\S+$/, patternText: "an http(s):// or ws(s):// URL", fix: "give the network's bootstrap/relay server URL, or leave it out", description: "the network's bootstrap/relay server URL (testnet/mainnet until operators publish theirs)" })
          .optional(),
      }),
      annotations: { title: "Join a mesh", readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    async ({ network, bootstrap_url }) => {
      const client = await link.client();
      const current = await client.status();
      if (current.network === network && bootstrap_url === undefined && current.phase === "running") {
        return jsonResult({ joined: false, reason: `already on ${network}`, status: current });
      }
      // The node remembers the network for the next `ripple up` once it has joined it.
      const status = await client.join({ network, ...(bootstrap_url ? { bootstrapUrl: bootstrap_url } : {}) });
      return jsonResult({ joined: true, left: current.network, status });
    },
  );

  server.registerTool(
    "holochain.register_node",
    {
      title: "Register this node",
      description: "Publishes this node's capability (hardware class, models, tokens/s, availability, libp2p binding) to agent_registry again now, and returns it as the DHT holds it. The node also publishes it by itself when it joins and when its models change.",
      inputSchema: toolInput("holochain.register_node", {}),
      annotations: { title: "Register this node", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async () => jsonResult({ capability: await (await link.client()).publishCapability() }),
  );

  server.registerTool(
    "holochain.query_peers",
    {
      title: "Peers of the mesh",
      description: "The nodes of this node's mesh (this one included): online or not and why, hardware, models, load, active jobs, and what this node measured of them.",
      inputSchema: toolInput("holochain.query_peers", {
        online_only: field.bool("online_only", "only peers that are online now (default false)").optional(),
        model: field.text("model", { max: 128, fix: "give a model name, or leave it out", description: "only peers that serve this model" }).optional(),
      }),
      annotations: { title: "Peers of the mesh", readOnlyHint: true, openWorldHint: true },
    },
    async ({ online_only, model }) => {
      const peers = (await (await link.client()).peers()).filter((p) => (!online_only || p.online) && (model === undefined || p.models.includes(model)));
      return jsonResult({ peers, count: peers.length });
    },
  );

  server.registerTool(
    "holochain.init_conductor",
    {
      title: "Conductor state",
      description: "The state of the node's Holochain conductor: the node starts, supervises and restarts it itself (pid, restarts, the node's phase, network, agent key, mesh state). Nothing is started or changed.",
      inputSchema: toolInput("holochain.init_conductor", {}),
      annotations: { title: "Conductor state", readOnlyHint: true, openWorldHint: false },
    },
    async () => {
      const s = await (await link.client()).status();
      return jsonResult({
        phase: s.phase,
        running: s.conductor?.pid != null,
        pid: s.conductor?.pid ?? null,
        restarts: s.conductor?.restarts ?? 0,
        network: s.network,
        agentPubKey: s.agentPubKey,
        relayUrl: s.relayUrl,
        mesh: s.mesh,
      });
    },
  );

  server.registerTool(
    "holochain.install_dna",
    {
      title: "Install a DNA",
      description:
        "Refuses to install anything but this node's pinned hApp (happ/ripple.happ), and says why: a node installs its pinned hApp itself when it joins a mesh, and testnet/mainnet accept only the pinned DNA hashes. For the pinned file itself it reports that it is installed.",
      inputSchema: toolInput("holochain.install_dna", {
        path: field.text("path", { max: 4096, fix: "give the path of a .happ or .dna file", description: "the hApp or DNA bundle to install" }),
      }),
      annotations: { title: "Install a DNA", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async ({ path }) => jsonResult({ ...(await checkPinnedHapp(path)) }),
  );
}
