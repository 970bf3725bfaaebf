// Model registrations whose content failed a pull's checks. What a CID names cannot change, so a
// registration (CID + sha256 + size + mime) that failed once is not chosen again (model-choice.ts),
// and a peer cannot have this node fetch the same bad content over and over. Bounded: peers decide
// how many registrations there are.
import { ArtifactVerificationError, BlockHashMismatchError, type ArtifactView } from "./artifact-service.ts";

export type RegistrationClaim = Pick<ArtifactView, "cid" | "sha256" | "size" | "mime">;

/** A registration's whole claim about its content: a copy with another mime (chunking) is another claim. */
const claimKey = (a: RegistrationClaim) => `${a.cid} ${a.sha256} ${a.size} ${a.mime}`;

export class FailedRegistrations {
  private readonly keys = new Set<string>();

  constructor(private readonly max = 1024) {}

  /**
   * Remembers `claim` when `err` shows the registration itself is wrong (its sha256 or size does not
   * match what its CID gives). A block whose bytes did not match their hash came from a bad source,
   * not a bad registration: another provider may serve the same CID correctly.
   */
  noteFailure(claim: RegistrationClaim, err: unknown): boolean {
    if (!(err instanceof ArtifactVerificationError) || err instanceof BlockHashMismatchError) return false;
    this.keys.delete(claimKey(claim));
    this.keys.add(claimKey(claim));
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value!);
    return true;
  }

  has(claim: RegistrationClaim): boolean {
    return this.keys.has(claimKey(claim));
  }

  get size(): number {
    return this.keys.size;
  }
}
