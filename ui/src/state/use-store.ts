// Components read the store through this hook and re-render when it changes.
import { useEffect, useState } from "preact/hooks";
import { store, type UiState } from "./store.ts";

export function useStore(): UiState {
  const [state, setState] = useState(store.state);
  useEffect(() => {
    setState(store.state);
    return store.subscribe(() => setState(store.state));
  }, []);
  return state;
}

/** The current time, refreshed every `everyMs` (for "4 s ago" labels). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
