// Human-readable output of the read commands (`--json` prints the same data unformatted).
import { describeBackend, describeBudgets, type DaemonStatus, type InferenceStatus, type NodeMemory, type PeerInfo, type ProcessMemory } from "@ripple-mesh/api-types";
import { textTable } from "../text-table.ts";

export function formatStatus(s: DaemonStatus): string {
  const others = s.mesh.visibleNodes;
  const relay = s.localHost ? `${s.relayUrl} (${s.localHost.self ? "hosted by this node" : `hosted by ${s.localHost.hostPeerId}`})` : (s.relayUrl ?? "-");
  const rows: Array<[string, string]> = [
    ["node", `${s.name} (${s.phase}, pid ${s.pid}, up ${Math.round(s.uptimeMs / 1000)} s)`],
    ...(s.offline ? [["offline", `${s.offline.message}. Fix: ${s.offline.fix}`] as [string, string]] : []),
    ["network", `${s.network}: mesh ${s.mesh.state}, ${others} peer${others === 1 ? "" : "s"} (${s.mesh.onlineNodes} online, ${s.mesh.knownAgents} known to the conductor)`],
    ["agent", s.agentPubKey ?? "-"],
    ["peer id", s.peerId ?? "-"],
    ["relay", relay],
    ["hardware", `${s.hardwareClass ?? "-"}, ${s.tokensPerSecond ?? 0} tokens/s measured`],
    ["inference", s.inference ? formatBackend(s.inference) : "-"],
    ["conductor", s.conductor ? `pid ${s.conductor.pid ?? "-"}, ${s.conductor.restarts} restarts` : "-"],
    ["memory", formatMemory(s.memory)],
    ["api", s.api ?? "-"],
    ...(s.nats !== undefined ? [["nats", s.nats ?? "disconnected (reconnecting)"] as [string, string]] : []),
    ["data dir", s.dataDir],
  ];
  return rows.map(([k, v]) => `${k.padEnd(10)} ${v}`).join("\n") + "\n";
}

/** RSS per part on one line: "daemon 180 MiB (models: tiny 12 MiB), conductor 300 MiB, kubo 60 MiB, relay 10 MiB". */
export function formatMemory(m: NodeMemory): string {
  const mib = (bytes: number | null) => (bytes === null ? "?" : `${Math.round(bytes / 2 ** 20)} MiB`);
  const models = m.models.length ? ` (models: ${m.models.map((x) => `${x.name} ${mib(x.bytes)}`).join(", ")})` : "";
  const parts: Array<[string, ProcessMemory | null]> = [["conductor", m.conductor], ["kubo", m.kubo], ["relay", m.relay]];
  const rest = parts.filter(([, p]) => p).map(([name, p]) => `${name} ${mib(p!.rssBytes)}`);
  // Said only when off: the daemon then keeps what glibc holds after frees (native-heap-trim.ts).
  const trimOff = m.nativeHeapTrim && !m.nativeHeapTrim.available ? `; freed native memory is not given back (${m.nativeHeapTrim.reason ?? "malloc_trim unavailable"})` : "";
  return [`daemon ${mib(m.daemon.rssBytes)}${models}`, ...rest].join(", ") + trimOff;
}

/** The backend and its budgets on one line (the UI's Node page shows the same two parts). */
export function formatBackend(i: InferenceStatus): string {
  return `${describeBackend(i)}; ${describeBudgets(i)}`;
}

/** What this node makes of a peer's claims: advertised (capped) speed, what it measured, shared keys. */
export function formatTrust(p: PeerInfo): string {
  const t = p.trust;
  if (!t) return "-";
  const parts: string[] = [];
  const capped = t.advertisedTokensPerSecond > t.classCeiling ? ` (capped at ${t.classCeiling})` : "";
  parts.push(t.advertisedTokensPerSecond > 0 ? `${t.advertisedTokensPerSecond} tok/s advertised${capped}` : "speed not advertised");
  if (t.classByHardware !== p.hardwareClass) parts.push(`declares ${p.hardwareClass}, its declared hardware fits ${t.classByHardware}`);
  const o = t.observed;
  if (o) {
    const speeds = o.models.map((m) => `${round1(m.tokensPerSecond)} tok/s, first token ${Math.round(m.ttftMs)} ms`).join("; ");
    const troubles = [[o.failures, "failure"], [o.stalls, "stall"], [o.badAnswers, "refused answer"]]
      .filter(([n]) => (n as number) >= 0.05)
      .map(([n, what]) => `${round1(n as number)} ${what}(s)`);
    parts.push(`observed ${speeds || "no finished job"} over ${round1(o.jobs)} job(s)${troubles.length ? `, ${troubles.join(", ")}` : ""}`);
  } else if (!p.self) {
    parts.push("not observed yet");
  }
  if (t.sharesPeerIdWith.length > 0) parts.push(`same machine as ${t.sharesPeerIdWith.join(", ")} (one libp2p key)`);
  if (t.sharesAddressWith.length > 0) parts.push(`same address as ${t.sharesAddressWith.join(", ")} (slots capped together)`);
  return parts.join(" · ");
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** When the peer was last heard from, with a note when its records are stamped beyond the allowed clock skew. */
function lastHeard(p: PeerInfo, nowMs: number): string {
  const heard = p.self || p.lastHeardMs === null ? (p.self ? "now" : "never") : `${Math.max(0, Math.round((nowMs - p.lastHeardMs) / 1000))} s ago`;
  return p.clockAheadMs ? `${heard} (clock ahead by ${Math.round(p.clockAheadMs / 1000)} s)` : heard;
}

export function formatPeers(peers: PeerInfo[], nowMs: number): string {
  if (peers.length === 0) return "no nodes yet: this node has not advertised itself (is it still starting?)\n";
  const header = ["NAME", "STATE", "CLASS", "CPU", "RAM", "GPU", "BACKEND", "TOK/S", "LOAD", "LAST HEARD", "MODELS", "CLAIMED VS OBSERVED"];
  const rows = peers.map((p) => [
    p.self ? `${p.name} (this node)` : p.name,
    p.online ? "online" : "offline",
    p.hardwareClass,
    `${p.cpuCores}×${p.cpuArch}`,
    `${p.ramGb} GB`,
    p.gpu ? `${p.gpu.model} ${p.gpu.vram_gb} GB` : "-",
    p.backend,
    String(p.tokensPerSecond),
    `cpu ${p.load.cpu_percent}% mem ${p.load.memory_percent}%`,
    lastHeard(p, nowMs),
    p.models.join(", ") || "-",
    formatTrust(p),
  ]);
  return textTable([header, ...rows]);
}
