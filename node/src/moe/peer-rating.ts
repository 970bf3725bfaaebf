// How fast and how dependable this node believes a peer is, for placement and for `ripple peers`:
// the speed it measured itself when it has one (peer-observations.ts); until then the speed the
// peer advertises, but never above the ceiling of the hardware class it declares (a peer that
// claims 1e6 tok/s on a laptop is a laptop), nor above that of the class its own declared CPU, RAM
// and GPU qualify for (a peer that declares a datacenter GPU class with no GPU is not trusted as
// one); times the reliability it earned.
import { classifyHardware, type HardwareClass } from "../capability/hardware-classes.ts";
import type { PeerInfo, PeerTrust } from "../mesh/peer-view.ts";
import { machineOf, physicalPeer, type ExpertModel, type PeerJudge, type PeerRate } from "./expert-placement.ts";
import type { PeerObservations } from "./peer-observations.ts";

/** A peer that advertises no speed (not measured) is assumed this slow until observed. */
export const UNMEASURED_TOKENS_PER_SECOND = 1;
/** Used when the classes manifest names no ceiling at all. */
const FALLBACK_CEILING = 15;


/** The key observations use for a model: its sha256 when known, else its name. */
export const modelKey = (m: Pick<ExpertModel, "model" | "sha256">): string => m.sha256 ?? m.model;

/** Decayed stalls + bad answers at or above this make a peer suspect (one incident, for a half-life). */
const SUSPECT_AT = 0.5;

export class PeerRating implements PeerJudge {
  private readonly ceilings: Map<string, number>;
  private readonly lowestCeiling: number;

  constructor(
    readonly observations: PeerObservations,
    private readonly classes: readonly HardwareClass[],
  ) {
    this.ceilings = new Map(classes.flatMap((c) => (c.tokens_per_second_ceiling ? [[c.id, c.tokens_per_second_ceiling] as const] : [])));
    const lowest = [...classes].sort((a, b) => a.rank - b.rank).find((c) => c.tokens_per_second_ceiling);
    this.lowestCeiling = lowest?.tokens_per_second_ceiling ?? FALLBACK_CEILING;
  }

  /** The lower of the declared class's ceiling and that of the class its declared hardware qualifies for. */
  classCeiling(p: PeerInfo): number {
    const declared = this.ceilingOf(p.hardwareClass);
    const byHardware = this.hardwareClassOf(p);
    return byHardware === undefined ? declared : Math.min(declared, this.ceilingOf(byHardware));
  }

  /**
   * The class the peer's own declared CPU, RAM, GPU and speed qualify for (all claims, but ones a
   * class must agree with); undefined without classes.
   */
  hardwareClassOf(p: PeerInfo): string | undefined {
    if (this.classes.length === 0) return undefined;
    const facts = { cpuCores: p.cpuCores, ramGb: p.ramGb, gpuVramGb: p.gpu?.vram_gb ?? null, referenceTokensPerSecond: p.tokensPerSecond > 0 ? p.tokensPerSecond : null };
    return classifyHardware(facts, this.classes).id;
  }

  private ceilingOf(hardwareClass: string): number {
    return this.ceilings.get(hardwareClass) ?? this.lowestCeiling;
  }

  /** The advertised speed bounded by the class ceiling (classCeiling). */
  bounded(p: PeerInfo): number {
    if (!(p.tokensPerSecond > 0)) return UNMEASURED_TOKENS_PER_SECOND;
    return Math.min(p.tokensPerSecond, this.classCeiling(p));
  }

  /** Placement's rate: observed speed for this model, else bounded advertised, times reliability. */
  readonly rate: PeerRate = (p, m) => {
    const key = physicalPeer(p);
    const observed = this.observations.speedOf(key, modelKey(m));
    const reliability = this.observations.get(key)?.reliability ?? 1;
    return (observed ?? this.bounded(p)) * reliability;
  };

  /** Stalled or lied recently (within about one observation half-life of one incident). */
  readonly suspect = (p: PeerInfo): boolean => {
    const o = this.observations.get(physicalPeer(p));
    return o !== undefined && o.stalls + o.badAnswers >= SUSPECT_AT;
  };

  describe(p: PeerInfo, all: PeerInfo[]): PeerTrust {
    const key = physicalPeer(p);
    return {
      advertisedTokensPerSecond: p.tokensPerSecond,
      classCeiling: this.classCeiling(p),
      classByHardware: this.hardwareClassOf(p) ?? p.hardwareClass,
      boundedTokensPerSecond: this.bounded(p),
      observed: this.observations.get(key) ?? null,
      sharesPeerIdWith: all.filter((o) => o.agent !== p.agent && physicalPeer(o) === key).map((o) => o.name),
      sharesAddressWith: all.filter((o) => physicalPeer(o) !== key && machineOf(o) === machineOf(p)).map((o) => o.name),
    };
  }
}
