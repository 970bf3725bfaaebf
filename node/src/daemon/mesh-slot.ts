// The one mesh a daemon is in, and how it moves between meshes: join, leave, and a switch that goes
// back to the previous mesh when the new one cannot be joined, or leaves the node in none (offline)
// when going back fails too. The daemon owns the phase; this owns which mesh, if any.
import type { NetworkChoice } from "../config/network-choice.ts";
import { RippleError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { JoinedMesh } from "./joined-mesh.ts";

export interface MeshSlotOptions {
  /** A JoinedMesh for this choice, not started yet. */
  newMesh: (choice: NetworkChoice) => JoinedMesh;
  /** The daemon's stop: a join under way after it throws what it threw, with no way back attempted. */
  stopAsked: AbortSignal;
  log: Logger;
}

export class MeshSlot {
  /** The mesh this node is in, with all it runs there; none while starting, switching or offline. */
  private mesh: JoinedMesh | undefined;
  /** The network of the last mesh joined: what status names while the node is in none (offline). */
  private lastJoinedName: string | undefined;
  /** Why the node is in no mesh: the error of the failed join and of going back. */
  private offlineError: RippleError | undefined;

  constructor(private readonly opts: MeshSlotOptions) {}

  get current(): JoinedMesh | undefined {
    return this.mesh;
  }

  get lastJoined(): string | undefined {
    return this.lastJoinedName;
  }

  /** Set while the node is in no mesh after a failed switch or a failed join from none. */
  get offline(): RippleError | undefined {
    return this.offlineError;
  }

  async join(choice: NetworkChoice): Promise<void> {
    const mesh = this.opts.newMesh(choice);
    // Kept before its start: a stop meanwhile stops what it has started so far.
    this.mesh = mesh;
    await mesh.start();
    this.lastJoinedName = choice.name;
  }

  /** Stops the mesh the node is in, or is joining; never throws (JoinedMesh.stop logs what fails). */
  async leave(): Promise<void> {
    const mesh = this.mesh;
    this.mesh = undefined;
    await mesh?.stop();
  }

  /**
   * Leaves the current mesh and joins `choice`. When that fails, goes back to the previous mesh and
   * throws why; when there was none, or going back fails too, leaves the node in none (`offline`).
   */
  async switchTo(choice: NetworkChoice): Promise<void> {
    const previous = this.mesh?.choice;
    this.offlineError = undefined;
    await this.leave();
    if (this.opts.stopAsked.aborted) throw this.opts.stopAsked.reason;
    try {
      await this.join(choice);
    } catch (err) {
      if (this.opts.stopAsked.aborted) throw err;
      if (!previous) throw await this.goOffline(stillOffline(choice, err as Error), choice);
      await this.rejoinAfterFailedSwitch(choice, previous, err as Error);
    }
  }

  /**
   * What is left of a mesh that could not be joined is stopped, and the node stays up in no mesh:
   * its API answers, `ripple status` and the UI say why, and `ripple join` puts it back in one.
   */
  private async goOffline(offline: RippleError, choice: NetworkChoice): Promise<RippleError> {
    await this.leave();
    this.offlineError = offline;
    this.opts.log.error({ err: offline, network: choice.name }, "this node is in no mesh now");
    return offline;
  }

  /**
   * A switch that failed (an unreachable bootstrap, a DNA pin mismatch) leaves the half-joined mesh
   * and goes back to the one the node was on, so that a typo does not take a node off its mesh.
   * Throws what went wrong either way.
   */
  private async rejoinAfterFailedSwitch(choice: NetworkChoice, previous: NetworkChoice, err: Error): Promise<never> {
    const { why, fix } = joinFailure(err);
    await this.leave();
    this.opts.log.error({ err, network: choice.name, back: previous.name }, "could not join the mesh; going back to the previous one");
    try {
      await this.join(previous);
    } catch (back) {
      if (this.opts.stopAsked.aborted) throw back;
      const both = new RippleError(`could not join ${choice.name} (${why}), nor go back to ${previous.name} (${joinFailure(back as Error).why}): this node is in no mesh now`, `${fix}; then \`ripple join NETWORK\``);
      throw await this.goOffline(both, previous);
    }
    throw new RippleError(`could not join ${choice.name} (${why}); the node is back on ${previous.name}`, fix);
  }
}

/** Why a join failed and what fixes it, to be folded into the error that says where the node is now. */
function joinFailure(err: Error): { why: string; fix: string } {
  return err instanceof RippleError ? { why: err.reason, fix: err.fix } : { why: err.message, fix: "check the network name and its bootstrap URL" };
}

/** A join from no mesh (offline) that failed: the node is still in none. */
function stillOffline(choice: NetworkChoice, err: Error): RippleError {
  const { why, fix } = joinFailure(err);
  return new RippleError(`could not join ${choice.name} (${why}): this node is in no mesh now`, `${fix}; then \`ripple join NETWORK\``);
}
