// The local API token, when the daemon requires one (`--api-host` beyond loopback, or
// RIPPLE_API_TOKEN set). A browser cannot send it on a page load, so the page asks for it once and
// keeps it in this tab's sessionStorage (gone when the tab closes), sending it on every API call and
// on the event stream's WebSocket (`?token=`: browsers cannot set headers on those).
const KEY = "ripple-api-token";
/** Where the token lives when the browser has no sessionStorage (this page only). */
let memory: string | undefined;

export function apiToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined; // storage disabled: the page asks again
  }
}

export function setApiToken(token: string | undefined): void {
  try {
    if (token === undefined) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, token);
  } catch {
    // storage disabled: the token lives as long as this page
  }
  memory = token;
}

/** Headers that carry the token, if there is one. */
export function authHeaders(): Record<string, string> {
  const token = apiToken() ?? memory;
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** The event stream's URL with the token, if there is one. */
export function withTokenQuery(url: string): string {
  const token = apiToken() ?? memory;
  return token === undefined ? url : `${url}?token=${encodeURIComponent(token)}`;
}
