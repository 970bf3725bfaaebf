// One machine, one voice. Several answers from one remote machine are not independent evidence: it
// generated all of them and could have made them agree. So, before the vote, the answers of each
// remote machine are scaled so that together they weigh what its heaviest single expert weighs;
// their relative weights stay as the policy says. A machine is what placement's slot cap counts
// (expert-placement.ts machineOf): the IP address its connection comes from as this node measured
// it, else its libp2p peer id (whichever agents it used). So several keys run from one host count
// as one voice, as they share one slot cap.
// This node's own answers and the cloud tier's are not scaled (they are not a peer's claims).
// Pure and order-independent, like the reducer it feeds.
import type { PeerInfo } from "../mesh/peer-view.ts";
import { machineOf, slotCap } from "./expert-placement.ts";

export interface Voice {
  slot: number;
  weight: number;
  /** The answering machine (voiceOf); null for this node and for cloud providers. */
  remotePeer: string | null;
}

/** Whose voice an answer from this peer is: null for this node's own, else its machine. */
export function voiceOf(p: Pick<PeerInfo, "peerId" | "agent" | "remoteIp" | "self">): string | null {
  return p.self ? null : machineOf(p);
}

/** "ok": no remote machine could decide the vote alone; "insufficient": one held more than ⌊(k−1)/2⌋ of
 * the k answers (too few peers); "local": every answer came from this node or the cloud tier. */
export type Diversity = "ok" | "insufficient" | "local";

/** The weight each slot's answer counts with, by slot. */
export function countedWeights(voices: readonly Voice[]): Map<number, number> {
  const byPeer = new Map<string, Voice[]>();
  for (const v of voices) if (v.remotePeer !== null) byPeer.set(v.remotePeer, [...(byPeer.get(v.remotePeer) ?? []), v]);
  const counted = new Map<number, number>();
  for (const v of voices) counted.set(v.slot, v.weight);
  for (const group of byPeer.values()) {
    if (group.length < 2) continue;
    const sum = group.reduce((t, v) => t + v.weight, 0);
    const max = Math.max(...group.map((v) => v.weight));
    for (const v of group) counted.set(v.slot, (v.weight * max) / sum);
  }
  return counted;
}

/** `slots`: the job's k, answered or not (a cancelled or failed slot still counted towards k). */
export function diversityOf(voices: readonly Voice[], slots = voices.length): Diversity {
  const remote = voices.filter((v) => v.remotePeer !== null);
  if (remote.length === 0) return "local";
  const cap = slotCap(Math.max(slots, voices.length));
  const perPeer = new Map<string, number>();
  for (const v of remote) perPeer.set(v.remotePeer!, (perPeer.get(v.remotePeer!) ?? 0) + 1);
  return [...perPeer.values()].some((n) => n > cap) ? "insufficient" : "ok";
}
