// Whether a provider record can be trusted: the DHT only says "agent X says it pins CID Y" (the
// integrity zome can check the author, not the claim). The asker walks the CID's DAG from its own
// kubo (small interior nodes, fetched from any peer), picks a leaf at random, and asks X's daemon
// for that block; X answers from its kubo offline. The bytes must hash to the leaf's CID. A record
// whose agent is offline, does not pin the CID, or cannot produce the block is not trusted.
import { createHash, randomInt } from "node:crypto";
import { CID, DAG_PB_CODEC, RAW_CODEC, type IpfsStore } from "./ipfs-store.ts";
import { kuboProtocol, kuboProtocolMaxBytes, proveAnswerSchema } from "./kubo-peering.ts";
import type { P2pNode } from "../p2p/p2p-node.ts";

const SHA2_256 = 0x12;

export type ProviderVerdict = { verified: true; block: string; ms: number } | { verified: false; reason: string; ms: number };

/** The sha2-256 digest `cid` names, or null for a CID that does not parse or uses another hash. */
export function sha256DigestOf(cid: string): Buffer | null {
  let parsed: CID;
  try {
    parsed = CID.parse(cid);
  } catch {
    return null;
  }
  return parsed.multihash.code === SHA2_256 ? Buffer.from(parsed.multihash.digest) : null;
}

/** Whether `bytes` are the block `cid` names (sha2-256 multihash; raw or dag-pb codec). */
export function blockMatchesCid(cid: string, bytes: Uint8Array): boolean {
  const want = sha256DigestOf(cid);
  return want !== null && Buffer.compare(want, createHash("sha256").update(bytes).digest()) === 0;
}

/** A random block of the DAG under `root`, following random links down to a leaf (or a raw root). */
export async function randomLeaf(ipfs: IpfsStore, root: string, o: { timeoutMs: number; signal?: AbortSignal; pick?: (n: number) => number }): Promise<string> {
  const pick = o.pick ?? ((n: number) => randomInt(n));
  let current = root;
  for (let depth = 0; depth < 16; depth++) {
    const code = CID.parse(current).code;
    if (code === RAW_CODEC) return current;
    if (code !== DAG_PB_CODEC) return current;
    const links = await ipfs.links(current, { timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) });
    if (links.length === 0) return current; // a small file inlined in its dag-pb node
    current = links[pick(links.length)]!;
  }
  return current;
}

/** Ask the daemon at `peerId` to prove it holds `cid` (one random block). Never throws. */
export async function verifyProvider(
  p2p: P2pNode,
  ipfs: IpfsStore,
  peerId: string,
  cid: string,
  o: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ProviderVerdict> {
  const started = Date.now();
  const timeoutMs = o.timeoutMs ?? 15_000;
  const ms = () => Date.now() - started;
  let block: string;
  try {
    block = await randomLeaf(ipfs, cid, { timeoutMs, ...(o.signal ? { signal: o.signal } : {}) });
  } catch (err) {
    return { verified: false, reason: `could not read the DAG of ${cid} to pick a block to check: ${(err as Error).message.slice(0, 200)}`, ms: ms() };
  }
  let answer;
  try {
    answer = proveAnswerSchema.parse(
      await p2p.requestJson(peerId, kuboProtocol, { op: "prove", cid, block }, { timeoutMs, maxBytes: kuboProtocolMaxBytes, ...(o.signal ? { signal: o.signal } : {}) }),
    );
  } catch (err) {
    return { verified: false, reason: `its daemon did not answer a proof request: ${(err as Error).message.slice(0, 200)}`, ms: ms() };
  }
  if (!answer.pinned) return { verified: false, reason: `it says it does not pin ${cid}`, ms: ms() };
  if (answer.data === null) return { verified: false, reason: `it could not produce block ${block} (${answer.error ?? "no reason given"})`, ms: ms() };
  if (!blockMatchesCid(block, Buffer.from(answer.data, "base64"))) return { verified: false, reason: `the bytes it sent for block ${block} do not hash to that block`, ms: ms() };
  return { verified: true, block, ms: ms() };
}
