// How `ripple shards`, `ripple models publish|pull` and `ripple artifacts` print for people.
import type { ArtifactView, ProviderView } from "./artifact-service.ts";
import type { PublishResult, PullProgress, PullResult, ShardRow } from "./model-shards.ts";
import { textTable } from "../text-table.ts";

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const short = (cid: string) => (cid.length > 20 ? `${cid.slice(0, 10)}…${cid.slice(-6)}` : cid);


function providerMark(p: ProviderView): string {
  const who = p.self ? "this node" : (p.name ?? p.agent.slice(0, 12));
  const state = p.verified === false ? "✗ untrusted" : p.verified === true ? "✓" : p.online ? "online" : "offline";
  return `${who} (${state})`;
}

/** Models × peers: one row per model CID, the peers that provide it, and replicas against the policy. */
export function formatShards(rows: ShardRow[], verified: boolean): string {
  if (rows.length === 0) return "no model is published on this mesh yet (`ripple models publish <name>` on a node that has one)\n";
  const peers = [...new Set(rows.flatMap((r) => r.providers.map((p) => (p.self ? "this node" : (p.name ?? p.agent.slice(0, 12))))))].sort();
  const header = ["MODEL", "CID", "SIZE", "REPLICAS", ...peers];
  const body = rows.map((r) => {
    const byPeer = new Map(r.providers.map((p) => [p.self ? "this node" : (p.name ?? p.agent.slice(0, 12)), p]));
    const cells = peers.map((name) => {
      const p = byPeer.get(name);
      if (!p) return "-";
      if (p.verified === false) return "✗";
      if (!p.online) return "offline";
      return p.verified === true ? "✓" : "●";
    });
    return [r.name, short(r.cid), mb(r.size), `${r.replicas}/${r.minProviders}${r.underReplicated ? " (under)" : ""}`, ...cells];
  });
  const legend = verified ? "✓ proved it holds the content, ✗ provider record not trusted (see --json for why)" : "● online provider (not checked; --verify asks each for a proof)";
  return textTable([header, ...body]) + `${legend}\n`;
}

export function formatPublish(r: PublishResult): string {
  return `${r.alreadyPublished ? "already published" : "published"} ${r.name}: ${r.cid} (${mb(r.size)}, sha256 ${r.sha256}; add ${(r.addMs / 1000).toFixed(1)} s, announce ${(r.announceMs / 1000).toFixed(1)} s)\n`;
}

export function formatPullProgress(p: PullProgress): string {
  if (p.type === "pull:resolved") {
    const provs = (p.providers as Array<{ name: string | null; verified: boolean | null; reason: string | null }>).map((x) => `${x.name ?? "?"}${x.verified ? " ✓" : ` ✗ (${x.reason})`}`);
    return `pulling ${String(p.name)} ${String(p.cid)} (${mb(Number(p.size))}) from: ${provs.join(", ") || "nobody"}\n`;
  }
  if (p.type === "pull:progress") return `  ${String(p.percent).padStart(5)}%  ${mb(Number(p.bytes))} of ${mb(Number(p.total))}  ${String(p.mbps)} MB/s\n`;
  if (p.type === "pull:resumed") return `  kubo restarted; resuming at ${mb(Number(p.offset))}\n`;
  if (p.type === "pull:verifying") return "  verifying sha256 and CID…\n";
  return "";
}

export function formatPull(r: PullResult): string {
  if (r.alreadyPresent) return `${r.name} is already here (${r.file}); pinned and announced as ${r.cid}\n`;
  const via = r.directBytes === 0 ? "through IPFS" : r.directBytes === r.size ? "straight from providers' files" : `${mb(r.directBytes)} straight from providers' files, the rest through IPFS`;
  return `pulled ${r.name}: ${r.file} (${mb(r.size)} in ${(r.transferMs / 1000).toFixed(1)} s ${via}, verified in ${(r.verifyMs / 1000).toFixed(1)} s${r.resumed ? `, resumed ${r.resumed}×` : ""}); pinned and announced\n`;
}

export function formatArtifacts(list: ArtifactView[]): string {
  if (list.length === 0) return "no artifacts match\n";
  return textTable([
    ["CID", "KIND", "SIZE", "NAME", "BY"],
    ...list.map((a) => [a.cid, a.kind, `${a.size} B`, a.name, a.author.slice(0, 12)]),
  ]);
}

export function formatProviders(list: ProviderView[]): string {
  if (list.length === 0) return "no provider records\n";
  return list.map((p) => `${providerMark(p)}${p.reason ? `: ${p.reason}` : ""}\n`).join("");
}
