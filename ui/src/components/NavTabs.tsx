import { hrefOf, pages, type Route } from "../lib/route.ts";

export function NavTabs(props: { route: Route; jobsRunning: number }) {
  return (
    <nav class="tabs" aria-label="Pages">
      {pages.map((p) => (
        <a key={p.name} href={hrefOf({ page: p.name } as Route)} class={props.route.page === p.name ? "tab active" : "tab"} data-testid={`nav-${p.name}`} aria-current={props.route.page === p.name ? "page" : undefined}>
          {p.title}
          {p.name === "jobs" && props.jobsRunning > 0 ? <span class="badge" title="running jobs">{props.jobsRunning}</span> : null}
        </a>
      ))}
    </nav>
  );
}
