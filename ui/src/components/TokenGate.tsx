import { useState } from "preact/hooks";
import { store, type AccessState } from "../state/store.ts";

/**
 * Shown instead of the pages while the daemon requires an API token this page does not have (or
 * refused the one it had): the daemon's own message and fix, and a field for the token.
 */
export function TokenGate(props: { access: Extract<AccessState, { kind: "token-needed" }> }) {
  const [token, setToken] = useState("");
  const [checking, setChecking] = useState(false);
  const submit = (e: Event) => {
    e.preventDefault();
    if (token.trim() === "" || checking) return;
    setChecking(true);
    void store.submitToken(token).finally(() => setChecking(false));
  };
  return (
    <div class="card token-gate" data-testid="token-gate">
      <h2>This node's API requires a token</h2>
      <p data-testid="token-gate-message">
        {props.access.message}. <span class="muted">{props.access.fix}</span>
      </p>
      <form onSubmit={submit}>
        <label>
          API token{" "}
          <input type="password" autocomplete="current-password" data-testid="token-input" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        </label>{" "}
        <button type="submit" data-testid="token-submit" disabled={checking || token.trim() === ""}>
          {checking ? "Checking…" : "Open"}
        </button>
      </form>
      <p class="muted">Kept in this browser tab only (sessionStorage) and sent with each request to this node.</p>
    </div>
  );
}
