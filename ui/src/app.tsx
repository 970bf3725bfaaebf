import { useEffect, useState } from "preact/hooks";
import { ConnectionBanner } from "./components/ConnectionBanner.tsx";
import { MeshPill } from "./components/MeshPill.tsx";
import { NavTabs } from "./components/NavTabs.tsx";
import { StatusPill } from "./components/StatusPill.tsx";
import { TokenGate } from "./components/TokenGate.tsx";
import { parseRoute, type Route } from "./lib/route.ts";
import { ConsolePage } from "./pages/ConsolePage.tsx";
import { JobsPage } from "./pages/JobsPage.tsx";
import { NodePage } from "./pages/NodePage.tsx";
import { PeersPage } from "./pages/PeersPage.tsx";
import { ShardsPage } from "./pages/ShardsPage.tsx";
import { latestOf } from "./state/store.ts";
import { useStore } from "./state/use-store.ts";

function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

export function App() {
  const route = useRoute();
  const state = useStore();
  const status = latestOf(state.status);
  const running = state.jobs.state === "ready" ? state.jobs.value.filter((j) => j.status === "running").length : 0;
  useEffect(() => {
    document.title = status ? `${status.name} · Ripple Mesh` : "Ripple Mesh";
  }, [status?.name]);
  return (
    <div class="app">
      <header class="top">
        <div class="brand">
          <span class="logo" aria-hidden="true">◎</span> Ripple Mesh
        </div>
        {status ? (
          <div class="whoami" data-testid="whoami">
            <span class="strong">{status.name}</span> on <span class="strong">{status.network}</span>{" "}
            {state.socket.kind === "open" ? (
              <MeshPill state={status.mesh.state} />
            ) : (
              <StatusPill tone="idle" label="no contact" title="the daemon does not answer: this is the last known state" />
            )}
          </div>
        ) : null}
        <NavTabs route={route} jobsRunning={running} />
      </header>
      {state.access.kind === "granted" ? <ConnectionBanner socket={state.socket} status={status} /> : null}
      <main class="content">
        {state.access.kind === "token-needed" ? <TokenGate access={state.access} /> : null}
        {state.access.kind !== "granted" ? null : pageOf(route)}
      </main>
    </div>
  );
}

function pageOf(route: Route) {
  return (
    <>
      {route.page === "peers" ? <PeersPage /> : null}
      {route.page === "shards" ? <ShardsPage /> : null}
      {route.page === "jobs" ? <JobsPage trace={route.trace} /> : null}
      {route.page === "console" ? <ConsolePage /> : null}
      {route.page === "node" ? <NodePage /> : null}
    </>
  );
}
