import { useState } from "preact/hooks";
import type { LocalModel } from "@ripple-mesh/api-types";
import { ApiError, postJson } from "../api/http.ts";
import { formatBytes } from "../lib/format.ts";
import { store } from "../state/store.ts";

/**
 * The models this node serves (models.json), loaded in memory or not, with a button to load or
 * unload each (POST /v1/models/:name/load|unload); a refusal shows the daemon's message and fix.
 */
export function LocalModels(props: { models: LocalModel[] }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [failure, setFailure] = useState<{ model: string; message: string; fix: string } | null>(null);
  const toggle = async (m: LocalModel) => {
    setBusy(m.name);
    setFailure(null);
    try {
      await postJson<LocalModel>(`/v1/models/${encodeURIComponent(m.name)}/${m.loaded ? "unload" : "load"}`);
      await store.load("localModels", "/v1/models/local");
    } catch (err) {
      if (store.refusedToken(err)) return; // the page asks for the token again
      const e = err instanceof ApiError ? err : new ApiError(String(err), "see the daemon's log", 0, "failed");
      setFailure({ model: m.name, message: e.message, fix: e.fix });
    } finally {
      setBusy(null);
    }
  };
  if (props.models.length === 0) return <p class="muted">No model is registered: add one with <span class="mono">ripple models add FILE.gguf</span>.</p>;
  return (
    <div>
      <table class="table" data-testid="local-models">
        <thead>
          <tr>
            <th>Model</th>
            <th>Size</th>
            <th>sha256</th>
            <th>State</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.models.map((m) => (
            <tr key={m.name} data-testid="local-model" data-model={m.name} data-loaded={String(m.loaded)}>
              <td class="strong">{m.name}</td>
              <td>{formatBytes(m.bytes)}</td>
              <td class="mono small" title={m.sha256}>
                {m.sha256.slice(0, 12)}…
              </td>
              <td>{m.loaded ? "loaded" : "on disk"}</td>
              <td>
                <button type="button" class="secondary" data-testid="model-toggle" disabled={busy !== null} onClick={() => void toggle(m)}>
                  {busy === m.name ? "…" : m.loaded ? "Unload" : "Load"}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {failure ? (
        <p class="bad small" data-testid="model-toggle-error">
          {failure.model}: {failure.message}. <span class="muted">{failure.fix}</span>
        </p>
      ) : null}
    </div>
  );
}
