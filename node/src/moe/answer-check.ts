// A worker's answer is a claim until checked: its response_hash must be the sha256 of the output it
// sent, and it must come from the model file the task pins (or, for a task that pins none, the file
// the peer advertises under that name). A failed check refuses the answer; the slot moves on.
import { responseHash, type JobAnswer } from "../protocol/job-protocol.ts";
import type { PeerInfo } from "../mesh/peer-view.ts";
import type { ExpertTask } from "../protocol/expert-task.ts";

export type DoneAnswer = Extract<JobAnswer, { outcome: "done" }>;

/** Why the answer is refused, or null when it passes. */
export function answerProblem(task: Pick<ExpertTask, "kind" | "model" | "modelSha256">, peer: Pick<PeerInfo, "modelRefs">, answer: DoneAnswer): string | null {
  const actual = responseHash(answer.output);
  if (actual !== answer.response_hash) {
    return `forged response_hash: the answer says ${answer.response_hash.slice(0, 12)}…, sha256 of its output is ${actual.slice(0, 12)}…`;
  }
  if (task.kind !== "model") return null;
  const advertised = (peer.modelRefs ?? []).find((r) => r.name === task.model)?.sha256 ?? undefined;
  const expected = task.modelSha256 ?? advertised;
  if (expected && answer.model.sha256 !== expected) {
    const whose = task.modelSha256 ? "the policy pins" : "the peer advertises";
    return `wrong model: answered with the file sha256 ${answer.model.sha256.slice(0, 12)}…, ${whose} ${expected.slice(0, 12)}… for ${task.model}`;
  }
  return null;
}
