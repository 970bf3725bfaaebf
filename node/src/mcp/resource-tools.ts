// The MCP tools resources.* (seed §11.4): what online peers offer, and this node's allocations —
// `Allocation` / `AllocationRelease` entries of resource_mesh, written by the running node — and a
// task scheduled on the mesh as an MOE job through resource_mesh.
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { MAX_ALLOCATION_SECONDS, RESOURCE_TYPES } from "@ripple-mesh/api-types";
import { LABEL_PATTERN } from "@ripple-mesh/zome-bindings";
import { RippleError } from "../errors.ts";
import type { DaemonLink } from "./daemon-link.ts";
import { moeFields, progressReporter } from "./inference-tools.ts";
import { field, toolInput } from "./tool-input.ts";
import { jsonResult } from "./tool-result.ts";

export const resourceToolNames = ["resources.query_available", "resources.allocate", "resources.release", "resources.schedule_task"] as const;

const allocationHash = (name: string, description: string) =>
  field.text(name, { max: 53, pattern: /^uhCkk[A-Za-z0-9_-]{48}$/, patternText: 'an allocation hash ("uhCkk…", 53 characters)', fix: "use an allocation hash that resources.allocate returned or resources.query_available lists", description });

export function registerResourceTools(server: McpServer, link: DaemonLink): void {
  server.registerTool(
    "resources.query_available",
    {
      title: "Available resources",
      description: "Online peers of the mesh with their capacity (models, hardware class, tokens/s, load, active jobs, free slots), and this node's active allocations (expired and released ones are left out).",
      inputSchema: toolInput("resources.query_available", {
        model: field.text("model", { max: 128, fix: "give a model name, or leave it out", description: "only peers that serve this model" }).optional(),
      }),
      annotations: { title: "Available resources", readOnlyHint: true, openWorldHint: true },
    },
    async ({ model }) => jsonResult({ ...(await (await link.client()).resources(model !== undefined ? { model } : {})) }),
  );

  server.registerTool(
    "resources.allocate",
    {
      title: "Allocate a peer",
      description: `Reserves a peer of the mesh for a time: writes an Allocation entry to resource_mesh naming it as provider. Name the peer by node name (peer) or agent key (agent), or give only a model and the least busy online peer serving it is picked. It lapses by itself after duration_s (at most ${MAX_ALLOCATION_SECONDS} s, 7 days), or when released.`,
      inputSchema: toolInput("resources.allocate", {
        peer: field.text("peer", { max: 64, fix: "give an online node name from holochain.query_peers, or use agent, or leave both out and give model", description: "the provider's node name" }).optional(),
        agent: field
          .text("agent", { max: 53, pattern: /^uhCAk[A-Za-z0-9_-]{48}$/, patternText: 'an agent key ("uhCAk…", 53 characters)', fix: "give an agent key from holochain.query_peers, or use peer", description: "the provider's agent key" })
          .optional(),
        model: field.text("model", { max: 128, fix: "give a model name some peer serves (resources.query_available lists them)", description: "the model the allocation is for (the peer must serve it)" }).optional(),
        duration_s: field.int("duration_s", 1, MAX_ALLOCATION_SECONDS, { fix: `set duration_s to the allocation's length in seconds, from 1 to ${MAX_ALLOCATION_SECONDS} (7 days)`, description: "how long the allocation holds, in seconds" }),
        resource_type: field.oneOf("resource_type", RESOURCE_TYPES, "what is reserved (default inference)").optional(),
        locality: field.text("locality", { max: 32, maxBytes: 32, pattern: LABEL_PATTERN, patternText: "free of control characters", fix: "give at most 32 bytes of UTF-8 without control characters, or leave it out", description: "a locality preference (e.g. a region)" }).optional(),
      }),
      annotations: { title: "Allocate a peer", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async ({ peer, agent, model, duration_s, resource_type, locality }) => {
      if (peer !== undefined && agent !== undefined) throw new RippleError("peer and agent were both given", "name the provider once: by node name (peer) or by agent key (agent)");
      if (peer === undefined && agent === undefined && model === undefined) throw new RippleError("peer is missing", "name a provider by peer (node name) or agent (agent key), or give a model so that a peer serving it is picked");
      const allocation = await (
        await link.client()
      ).allocate({
        ...((peer ?? agent) !== undefined ? { peer: (peer ?? agent)! } : {}),
        ...(model !== undefined ? { model } : {}),
        duration_s,
        ...(resource_type !== undefined ? { resource_type } : {}),
        ...(locality !== undefined ? { locality } : {}),
      });
      return jsonResult({ allocation });
    },
  );

  server.registerTool(
    "resources.release",
    {
      title: "Release an allocation",
      description: "Ends one of this node's allocations now: writes an AllocationRelease entry to resource_mesh. The peer is no longer reserved.",
      inputSchema: toolInput("resources.release", {
        allocation: allocationHash("allocation", "the allocation's hash, as resources.allocate returned it"),
        reason: field.text("reason", { max: 256, maxBytes: 256, pattern: LABEL_PATTERN, patternText: "free of control characters", fix: "give at most 256 bytes of UTF-8 without control characters, or leave it out", description: "why it is released (recorded in the entry)" }).optional(),
      }),
      annotations: { title: "Release an allocation", readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async ({ allocation, reason }) => jsonResult({ allocation: await (await link.client()).release({ allocation, ...(reason !== undefined ? { reason } : {}) }) }),
  );

  server.registerTool(
    "resources.schedule_task",
    {
      title: "Schedule a task",
      description:
        "Runs a task on the mesh as an MOE job through resource_mesh (a Job entry with its slots' assignments; the workers write results and accounting), optionally under one of this node's active allocations, and returns its trace id, job hash and result (response, consensus_score, model_votes).",
      inputSchema: toolInput("resources.schedule_task", {
        ...moeFields,
        open: field.bool("open", "post the job open: workers that can serve a slot claim it (default false)").optional(),
        allocation: allocationHash("allocation", "run under this active allocation of this node").optional(),
      }),
      annotations: { title: "Schedule a task", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async ({ prompt, task_type, experts, max_tokens, require_consensus, open, allocation }, extra) => {
      const progress = progressReporter(extra);
      progress?.("scheduling the MOE job");
      const scheduled = await (
        await link.client()
      ).schedule({
        prompt,
        ...(task_type !== undefined ? { task_type } : {}),
        ...(experts !== undefined ? { experts } : {}),
        ...(max_tokens !== undefined ? { max_tokens } : {}),
        ...(require_consensus !== undefined ? { require_consensus } : {}),
        ...(open !== undefined ? { open } : {}),
        ...(allocation !== undefined ? { allocation } : {}),
      }, { signal: extra.signal });
      return jsonResult({ ...scheduled });
    },
  );
}
