// The UI's pages live in the URL's hash (#/peers, #/jobs/<trace id>), so the daemon serves one
// index.html and a reload or a shared link opens the same page.

export type PageName = "peers" | "shards" | "jobs" | "console" | "node";

export type Route = { page: "peers" } | { page: "shards" } | { page: "jobs"; trace?: string } | { page: "console" } | { page: "node" };

export const pages: Array<{ name: PageName; title: string }> = [
  { name: "peers", title: "Peers" },
  { name: "shards", title: "Shards" },
  { name: "jobs", title: "Jobs" },
  { name: "console", title: "Console" },
  { name: "node", title: "Node" },
];

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter((p) => p !== "");
  const [page, arg] = parts;
  switch (page) {
    case "shards":
    case "console":
    case "node":
      return { page };
    case "jobs": {
      if (!arg) return { page: "jobs" };
      let trace = arg;
      try {
        trace = decodeURIComponent(arg);
      } catch {
        // keep it as it is
      }
      return { page: "jobs", trace };
    }
    default:
      return { page: "peers" };
  }
}

export function hrefOf(route: Route): string {
  if (route.page === "jobs" && route.trace) return `#/jobs/${encodeURIComponent(route.trace)}`;
  return `#/${route.page}`;
}
