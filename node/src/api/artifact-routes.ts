// The local API's IPFS routes (the `ripple` CLI uses them; errors are the API's usual
// `{error: {code, message, fix}}`):
//   GET  /v1/ipfs                          this node's kubo: peer id, addresses, restarts, peers, repo size
//   GET  /v1/artifacts?cid=|name=|kind=|job=   ArtifactView[] from artifact_index
//   POST /v1/artifacts {content, name, kind?, mime?, parents?}   add text as an artifact → ArtifactView
//   GET  /v1/artifacts/:cid/content        the bytes (checked against the registered sha256), as a download
//                                          (octet-stream, attachment, sandboxed: never rendered), mime in x-ripple-mime
//   GET  /v1/artifacts/:cid/providers[?verify=1]   ProviderView[]
//   POST /v1/models/:name/publish          PublishResult
//   POST /v1/models/pull {ref, name?, sha256?, anyPublisher?, viaKubo?}   PullResult; streamed with ?stream=1 / Accept: text/event-stream
//                                          (`event: pull:progress` …, then `event: result`)
//   GET  /v1/shards[?verify=1]             ShardRow[]
//   POST /v1/artifacts/:cid/false-provider test only (RIPPLE_TEST_ARTIFACTS=1): a provider record without the content
//   POST /v1/artifacts/forge-model         test only: a model artifact whose sha256/size lie about its CID
import { z } from "zod";
import { labelText } from "@ripple-mesh/zome-bindings";
import { failureOf, sendJson, type ApiApp } from "./api-reply.ts";
import { DaemonNotReadyError } from "../errors.ts";
import { SseWriter } from "./sse.ts";
import { RippleError } from "../errors.ts";
import { InferenceError } from "../inference/inference-errors.ts";
import type { Logger } from "../log.ts";
import { ArtifactNotFoundError, ArtifactVerificationError } from "../artifacts/artifact-service.ts";
import type { MeshArtifacts } from "../artifacts/mesh-artifacts.ts";
import { ModelPullError } from "../artifacts/model-shards.ts";
import { modelMime } from "../artifacts/model-mime.ts";
import { modelChunking } from "../config/storage-policy.ts";
import { ModelChoiceError } from "../artifacts/model-choice.ts";
import { DiskRoomError } from "../artifacts/disk-room.ts";

export const artifactRouteList =
  "GET /v1/ipfs, GET /v1/artifacts, POST /v1/artifacts, GET /v1/artifacts/:cid/content, GET /v1/artifacts/:cid/providers, POST /v1/models/:name/publish, POST /v1/models/pull, GET /v1/shards";

export interface ArtifactRoutesOptions {
  /** The current mesh's artifacts (undefined while the node joins a mesh). */
  artifacts: () => MeshArtifacts | undefined;
  log: Logger;
  testRoutes?: boolean;
  /** Largest artifact served by /content. Default 64 MiB. */
  maxContentBytes?: number;
}

/** A media type's type/subtype (RFC 6838 names): what a registered artifact's mime may be echoed as. */
const plainMediaType = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}$/;
const cidParam = z.string().min(8).max(128).regex(/^[A-Za-z0-9]+$/, "a CID");
const nameParam = z.string().min(1).max(64).regex(/^[a-z0-9._-]+$/, "a model name (a-z 0-9 . _ -)");
const putSchema = z.strictObject({
  content: z.string().max(48 * 1024),
  // artifact_index's label rule, checked here so the caller hears which field is wrong.
  name: labelText(256),
  kind: z.enum(["output", "prompt", "bundle"]).default("output"),
  mime: labelText(128).default("text/plain; charset=utf-8"),
  parents: z.array(cidParam).max(32).default([]),
});
const pullSchema = z.strictObject({
  ref: z.string().min(1).max(128),
  name: nameParam.optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex sha256").optional(),
  anyPublisher: z.boolean().optional(),
  viaKubo: z.boolean().optional(),
});
const listSchema = z.strictObject({
  cid: cidParam.optional(),
  name: z.string().min(1).max(256).optional(),
  kind: z.enum(["model", "output", "prompt", "bundle"]).optional(),
  job: z.string().regex(/^uhCkk[A-Za-z0-9_-]{48}$/).optional(),
});

function bad(what: string, err: z.ZodError): InferenceError {
  const issue = err.issues[0];
  return new InferenceError("bad_request", `invalid ${what}: ${issue?.path.join(".") || "(body)"}: ${issue?.message}`, "correct the request (see the route list in node/src/api/artifact-routes.ts)");
}

/** Maps this seam's errors onto API statuses (404 not found, 400 choose a registration, 422 no room, 502 no provider or verification). */
function asApiError(err: unknown): unknown {
  if (err instanceof ModelChoiceError) return new InferenceError("bad_request", err.message.replace(/\. Fix: .*$/, ""), err.fix);
  if (err instanceof DiskRoomError) return new InferenceError("over_limit", err.message.replace(/\. Fix: .*$/, ""), err.fix);
  if (err instanceof ArtifactNotFoundError) return new InferenceError("model_not_found", err.message.replace(/\. Fix: .*$/, ""), err.fix);
  if (err instanceof ArtifactVerificationError || err instanceof ModelPullError) return new InferenceError("failed", err.message.replace(/\. Fix: .*$/, ""), err.fix);
  return err;
}

const flag = (q: unknown, key: string) => {
  const v = (q as Record<string, unknown>)[key];
  return v === "1" || v === "true";
};

export function registerArtifactRoutes(app: ApiApp, opts: ArtifactRoutesOptions): void {
  const need = (): MeshArtifacts => {
    const a = opts.artifacts();
    if (!a?.artifacts || !a.shards) throw new DaemonNotReadyError("IPFS is not running (the node is starting or switching meshes)", "wait until `ripple status` says running");
    return a;
  };
  const guarded = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw asApiError(err);
    }
  };

  app.get("/v1/ipfs", async (_req, reply) => sendJson(reply, await need().describe()));

  app.get("/v1/artifacts", async (req, reply) => {
    const q = listSchema.safeParse(req.query);
    if (!q.success) throw bad("query", q.error);
    const clean = Object.fromEntries(Object.entries(q.data).filter(([, v]) => v !== undefined));
    return sendJson(reply, await guarded(() => need().artifacts!.list(clean)));
  });

  app.post("/v1/artifacts", async (req, reply) => {
    const b = putSchema.safeParse(req.body);
    if (!b.success) throw bad("artifact", b.error);
    const { content, ...meta } = b.data;
    return sendJson(reply, await guarded(() => need().artifacts!.put(Buffer.from(content, "utf8"), meta)));
  });

  app.get("/v1/artifacts/:cid/content", async (req, reply) => {
    const cid = cidParam.safeParse((req.params as { cid?: unknown }).cid);
    if (!cid.success) throw bad("CID", cid.error);
    const r = await guarded(() => need().artifacts!.read(cid.data, { maxBytes: opts.maxContentBytes ?? 64 * 1024 * 1024, signal: AbortSignal.timeout(120_000) }));
    // The bytes and their registered mime are any peer's: served as a download that a browser never
    // renders (a peer's text/html here would run script on this API's own origin), the mime only
    // named in a header of its own: its type/subtype, without parameters, when those are plain names.
    const mime = r.artifact?.mime.split(";")[0]!.trim();
    if (mime !== undefined && plainMediaType.test(mime)) reply.header("x-ripple-mime", mime);
    return reply
      .header("content-type", "application/octet-stream")
      .header("content-disposition", `attachment; filename="${cid.data}"`)
      .header("content-security-policy", "default-src 'none'; sandbox")
      .header("x-ripple-sha256", r.sha256)
      .header("x-ripple-registered", r.artifact ? "1" : "0")
      .send(r.bytes);
  });

  app.get("/v1/artifacts/:cid/providers", async (req, reply) => {
    const cid = cidParam.safeParse((req.params as { cid?: unknown }).cid);
    if (!cid.success) throw bad("CID", cid.error);
    return sendJson(reply, await guarded(() => need().artifacts!.providers(cid.data, { verify: flag(req.query, "verify") })));
  });

  app.post("/v1/models/:name/publish", async (req, reply) => {
    const name = nameParam.safeParse((req.params as { name?: unknown }).name);
    if (!name.success) throw bad("model name", name.error);
    return sendJson(reply, await guarded(() => need().shards!.publish(name.data)));
  });

  app.post("/v1/models/pull", async (req, reply) => {
    const b = pullSchema.safeParse(req.body);
    if (!b.success) throw bad("pull request", b.error);
    const shards = need().shards!;
    const abort = new AbortController();
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) abort.abort(new RippleError("the client went away", "keep `ripple models pull` running until it finishes"));
    });
    const stream = flag(req.query, "stream") || (req.headers.accept ?? "").includes("text/event-stream");
    const run = (onProgress?: (p: { type: string }) => void) =>
      guarded(() => shards.pull(b.data.ref, { ...(b.data.name ? { name: b.data.name } : {}), ...(b.data.sha256 ? { sha256: b.data.sha256 } : {}), ...(b.data.anyPublisher ? { anyPublisher: true } : {}), ...(b.data.viaKubo ? { viaKubo: true } : {}), signal: abort.signal, ...(onProgress ? { onProgress } : {}) }));
    if (!stream) return sendJson(reply, await run());
    const sse = new SseWriter(reply);
    sse.start();
    try {
      const result = await run((p) => sse.event(p.type, p));
      sse.event("result", result);
    } catch (err) {
      const f = failureOf(err);
      if (!sse.isOpen) throw err;
      if (f.status >= 500) opts.log.warn({ err }, "a streamed model pull failed");
      sse.event("error", { error: { code: f.code, message: f.message, fix: f.fix } });
    } finally {
      sse.end();
    }
  });

  app.get("/v1/shards", async (req, reply) => sendJson(reply, await guarded(() => need().shards!.shards({ verify: flag(req.query, "verify") }))));

  if (opts.testRoutes) {
    app.post("/v1/artifacts/:cid/false-provider", async (req, reply) => {
      const cid = cidParam.safeParse((req.params as { cid?: unknown }).cid);
      if (!cid.success) throw bad("CID", cid.error);
      await need().artifacts!.writeFalseProviderRecord(cid.data);
      return sendJson(reply, { ok: true });
    });
    // What a dishonest publisher would register: a model whose sha256/size do not describe the CID's content.
    app.post("/v1/artifacts/forge-model", async (req, reply) => {
      const b = z.strictObject({ cid: cidParam, name: nameParam, size: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).safeParse(req.body);
      if (!b.success) throw bad("forged model", b.error);
      const a = need();
      return sendJson(reply, await a.artifacts!.register({ ...b.data, kind: "model", mime: modelMime(modelChunking(a.policy)) }));
    });
  }
}
