// Peers as the requester's rating and placement see them, for the pure trust tests: each declares
// a cpu-laptop class backed by laptop hardware (4 cores, 16 GB, no GPU) and serves the pinned Qwen.
import { loadHardwareClasses } from "../../src/capability/hardware-classes.ts";
import type { PeerInfo } from "../../src/mesh/peer-view.ts";

export const qwen = "qwen2.5-coder-0.5b-instruct-q4_k_m";
export const qwenSha = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32";
/** The expert's model as placement matches it: by pinned sha256. */
export const model = { model: qwen, sha256: qwenSha, anyPeer: false };
export const classes = loadHardwareClasses().classes;

export const peer = (name: string, over: Partial<PeerInfo> = {}): PeerInfo =>
  ({
    agent: `uhCAk-${name}`,
    peerId: `12D3KooW-${name}`,
    name,
    self: false,
    online: true,
    models: [qwen],
    modelRefs: [{ name: qwen, sha256: qwenSha }],
    activeJobs: 0,
    tokensPerSecond: 30,
    hardwareClass: "cpu-laptop",
    cpuCores: 4,
    ramGb: 16,
    gpu: null,
    ...over,
  }) as PeerInfo;
