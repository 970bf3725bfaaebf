// Which registration `ripple models pull REF` installs. A name is anyone's to register, so a name
// alone is not trusted: only registrations whose sha256 is pinned for that name (the inference
// policy's `models:`, the storage policy's `models.want`, or the file this node already holds under
// it) are candidates; `--sha256 HEX` is an explicit pin; `--any-publisher` without one lists every
// candidate (sha256, publishers, size) and asks for a choice. A CID names its content, but a CID
// whose registered name is pinned to another sha256 is still refused under that name. Registrations
// stamped beyond the allowed clock skew ahead of this node's clock are never "newest".
import { RippleError } from "../errors.ts";
import { modelNameSchema } from "../config/versions-schema.mjs";
import { isFutureDated, type ClockBound } from "../config/clock-skew.ts";
import type { ArtifactView } from "./artifact-service.ts";

export interface ModelChoice {
  /** An explicit choice among a name's registrations. */
  sha256?: string;
  /** Without sha256: list the candidates of an unpinned (or any) name and ask for one. */
  anyPublisher?: boolean;
  /** The name the model is installed under (default: the registration's). */
  name?: string;
}

/** Whether this node already pulled a registration's content and it failed the checks (its CID cannot change). */
export type FailedHere = (a: ArtifactView) => boolean;

/** The sha256 pinned for a model name here, if any. */
export type ModelPins = (name: string) => string | undefined;

/** No registration may be installed under that name without a choice; the message lists the candidates. */
export class ModelChoiceError extends RippleError {}

/**
 * Why a pull may not install under `name`, or undefined. A registration's name is its publisher's
 * word, and it names the file written here: only a model name (no "/", no "..") before any path is
 * built from it.
 */
export function badPulledModelName(name: string, cid: string): string | undefined {
  if (modelNameSchema.safeParse(name).success) return undefined;
  return `the registration of ${cid} names the model ${JSON.stringify(name.slice(0, 80))}, which is not a valid model name (1-64 characters of a-z 0-9 . _ -)`;
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(n >= 2 ** 30 ? 1 : 3)} GiB`;

/** One line per distinct sha256: who published it, its size, when. */
export function describeCandidates(regs: ArtifactView[]): string {
  const bySha = new Map<string, ArtifactView[]>();
  for (const r of regs) bySha.set(r.sha256, [...(bySha.get(r.sha256) ?? []), r]);
  return [...bySha.entries()]
    .map(([sha, rs]) => `sha256 ${sha} (${gib(rs[0]!.size)}, ${rs[0]!.size} bytes) published by ${[...new Set(rs.map((r) => r.author))].join(", ")}`)
    .join("; ");
}

/**
 * The registration to pull, from `found` (model registrations of `ref`, newest first). Throws
 * ModelChoiceError when none may be installed without a (different) choice.
 */
export function chooseModelRegistration(ref: string, byCid: boolean, found: ArtifactView[], choice: ModelChoice, pins: ModelPins, clock: ClockBound, failedHere: FailedHere = () => false): ArtifactView {
  const honest = found.filter((a) => !isFutureDated(a.registeredAtMs, clock));
  const future = found.length - honest.length;
  const futureNote = future ? ` (${future} registration(s) stamped ahead of this node's clock ignored)` : "";
  if (honest.length === 0) {
    throw new ModelChoiceError(`every registration of "${ref}" is stamped beyond the allowed clock skew ahead of this node's clock${futureNote}`, "ask the publisher to fix its clock and publish again, or check this node's clock");
  }
  if (byCid) {
    const named = choice.sha256 ? honest.filter((a) => a.sha256 === choice.sha256) : honest;
    if (named.length === 0) throw new ModelChoiceError(`${ref} is registered with ${describeCandidates(honest)}, not sha256 ${choice.sha256}`, "drop --sha256, or pull the CID that has it");
    // A bogus newest registration of this CID (a false sha256 or size, or a name pinned here to another
    // file) must not hide an honest one.
    const usable = named.filter((a) => !failedHere(a));
    if (usable.length === 0) throw failedContent(ref, named);
    const agreesWithPin = (a: ArtifactView) => {
      const pinned = pins(choice.name ?? a.name);
      return !pinned || pinned === a.sha256;
    };
    const reg = usable.find(agreesWithPin) ?? usable[0]!;
    const name = choice.name ?? reg.name;
    const pinned = pins(name);
    if (pinned && pinned !== reg.sha256) {
      throw new ModelChoiceError(`${ref} holds sha256 ${reg.sha256}, but "${name}" is pinned here to ${pinned}`, `pull it under another name with --name, or pull the pinned file`);
    }
    return reg;
  }
  const wanted = choice.sha256 ?? pins(choice.name ?? ref);
  if (wanted) {
    // A registration whose content already failed here is skipped: a bogus newer one (the right
    // sha256 over other content) must not hide the honest ones, nor be fetched again at every try.
    const matching = honest.filter((a) => a.sha256 === wanted);
    const reg = matching.find((a) => !failedHere(a));
    if (reg) return reg;
    if (matching.length) throw failedContent(ref, matching);
    const how = choice.sha256 ? "chosen with --sha256" : "pinned here";
    throw new ModelChoiceError(
      `no registration of "${ref}" has the sha256 ${how} (${wanted}); the mesh has ${describeCandidates(honest)}${futureNote}: nothing is installed under a name someone else registered`,
      choice.sha256 ? "pick one of the listed sha256 values" : "wait for a peer to publish the pinned file, or run `ripple models pull NAME --any-publisher` to see and choose among the candidates",
    );
  }
  if (choice.anyPublisher) {
    throw new ModelChoiceError(`"${ref}" is not pinned here; its candidates: ${describeCandidates(honest)}${futureNote}`, `choose one: \`ripple models pull ${ref} --sha256 HEX\``);
  }
  throw new ModelChoiceError(
    `"${ref}" is not pinned here: a model name is anyone's to register, so a pull by name needs its sha256`,
    `pin it (inference policy \`models.${ref}.sha256\`, or storage policy \`models.want\`), or run \`ripple models pull ${ref} --any-publisher\` to see the candidates and choose one with --sha256`,
  );
}

function failedContent(ref: string, regs: ArtifactView[]): ModelChoiceError {
  const which = regs.map((r) => `${r.cid} (published by ${r.author})`).join(", ");
  return new ModelChoiceError(
    `every registration of "${ref}" that could be pulled names content that failed the checks on this node: ${which}`,
    "wait for a peer to publish the file again (an honest copy gets its own registration), or pull it from a peer you trust by CID",
  );
}
