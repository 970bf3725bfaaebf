// The peers this node has reserved (its active requester allocations, mesh/allocations.ts), as
// placement asks of them: "does this node hold a reservation on that peer for that model now?".
// A snapshot: replaced whenever the allocations are read, added to and taken from as this node
// allocates and releases, so that a job right after an allocation already goes to the peer.
import type { AllocationView } from "@ripple-mesh/api-types";

export class ReservedPeers {
  private views: AllocationView[] = [];
  private readAtMs = Number.NEGATIVE_INFINITY;
  /** Bumped by add and remove: a read that started before one of them is older than the snapshot. */
  private changes = 0;

  constructor(private readonly self: string) {}

  /** When the snapshot was last replaced by a full read. */
  get readAt(): number {
    return this.readAtMs;
  }

  /** Taken before a read: replace() ignores a read that an add or remove came after. */
  get version(): number {
    return this.changes;
  }

  /**
   * A full read of this node's allocations (started at `version`): only its own active reservations
   * of a provider are kept. A read that started before an allocate or release is not newer than them.
   */
  replace(views: readonly AllocationView[], nowMs: number, startedAt: number = this.changes): void {
    this.readAtMs = nowMs;
    if (startedAt !== this.changes) return;
    this.views = views.filter((v) => this.isMine(v));
  }

  add(view: AllocationView): void {
    this.changes++;
    if (this.isMine(view)) this.views = [...this.views.filter((v) => v.allocation !== view.allocation), view];
  }

  remove(allocation: string): void {
    this.changes++;
    this.views = this.views.filter((v) => v.allocation !== allocation);
  }

  /** Whether this node holds an unexpired reservation of `agent`, for `model` or for any model. */
  reserves(agent: string, model: string, nowMs: number): boolean {
    return this.views.some((v) => v.provider?.agent === agent && (v.model === null || v.model === model) && nowMs < v.expiresAtMs);
  }

  private isMine(v: AllocationView): boolean {
    return v.state === "active" && v.role === "requester" && v.requester === this.self && v.provider !== null;
  }
}
