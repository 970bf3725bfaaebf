// The provider's side of allocations (worker/reservation-gate.ts): slots held for peers that
// allocated this node, bounded by the compute policy.
import { describe, expect, it } from "vitest";
import { defaultComputePolicyFile, loadComputePolicy } from "../src/config/compute-policy.ts";
import { allocationHonoured } from "../src/worker/worker-policy.ts";
import { ReservationGate, ReservedNodeError, type ProviderReservation, type ReservationContext } from "../src/worker/reservation-gate.ts";

const now = 1_800_000_000_000;
const qwen = "qwen2.5-coder-0.5b-instruct-q4_k_m";
const held = (requester: string, extra: Partial<ProviderReservation> = {}): ProviderReservation => ({
  allocation: `uhCkk-alloc-of-${requester}`,
  requester,
  model: null,
  seenAtMs: now - 60_000,
  expiresAtMs: now + 3_600_000,
  ...extra,
});
const context = (reservations: ProviderReservation[], extra: Partial<ReservationContext> = {}): ReservationContext => ({
  capacity: 1,
  reservations,
  limits: { reserve_slots: 1, max_minutes: 60 },
  honoured: (agent) => agent !== "uhCAk-denied",
  self: "uhCAk-self",
  ...extra,
});

describe("slots held for allocations of this node", () => {
  it("on a one-slot node, others are refused while the holder's slot is free, naming the allocation; the holder runs", () => {
    const gate = new ReservationGate(() => now);
    const ctx = context([held("uhCAk-alice")]);
    let refusal: unknown;
    try {
      gate.admit("uhCAk-bob", qwen, ctx);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(ReservedNodeError);
    expect((refusal as ReservedNodeError).code).toBe("busy");
    expect((refusal as Error).message).toMatch(/this node is reserved: 1 of its 1 job slot\(s\) held for allocation\(s\) uhCkk-alloc-… by uhCAk-alice…/);
    expect((refusal as ReservedNodeError).fix).toMatch(/another peer/);
    const done = gate.admit("uhCAk-alice", qwen, ctx);
    // This node's own jobs are never held back.
    gate.admit("uhCAk-self", qwen, ctx)();
    done();
    expect(() => gate.admit("uhCAk-bob", qwen, ctx)).toThrow(ReservedNodeError);
  });

  it("on a two-slot node, others get what is not held: the node full, or a job past it, is refused", () => {
    const gate = new ReservationGate(() => now);
    const ctx = context([held("uhCAk-alice")], { capacity: 2 });
    const bob = gate.admit("uhCAk-bob", qwen, ctx);
    expect(() => gate.admit("uhCAk-carol", qwen, ctx)).toThrow(/1 of its 2 job slot\(s\) held .*1 job\(s\) running/);
    const alice = gate.admit("uhCAk-alice", qwen, ctx);
    // Full now (bob and alice): another job would queue ahead of alice's next one.
    expect(() => gate.admit("uhCAk-carol", qwen, ctx)).toThrow(ReservedNodeError);
    bob();
    // alice runs, so her slot is in use: the other one is free for carol.
    const carol = gate.admit("uhCAk-carol", qwen, ctx);
    alice();
    carol();
    // Given back once, however often called.
    carol();
    expect(() => gate.admit("uhCAk-carol", qwen, ctx)).not.toThrow();
  });

  it("passes a holder's jobs past the holds only for the allocation's model, when it names one", () => {
    const gate = new ReservationGate(() => now);
    const ctx = context([held("uhCAk-alice", { model: qwen }), held("uhCAk-bob", { model: "gemma-3-270m-q4_k_m", seenAtMs: now - 30_000 })], { capacity: 2, limits: { reserve_slots: 2, max_minutes: 60 } });
    const running = gate.admit("uhCAk-alice", qwen, ctx);
    // alice's slot is in use and bob's is held: a job on another model than she reserved is refused like anyone's...
    expect(() => gate.admit("uhCAk-alice", "gemma-3-270m-q4_k_m", ctx)).toThrow(/by uhCAk-bob…/);
    // ...while one on her model passes (it waits for her slot in the engine's queue).
    expect(() => gate.admit("uhCAk-alice", qwen, ctx)).not.toThrow();
    running();
  });

  it("is bounded by the policy: slots held, one per requester, first seen first, minutes, honoured requesters", () => {
    const gate = new ReservationGate(() => now);
    const two = { capacity: 2 };
    // Two allocations by alice hold one slot, not two.
    expect(gate.holders(context([held("uhCAk-alice"), held("uhCAk-alice", { allocation: "uhCkk-second" })], { ...two, limits: { reserve_slots: 2, max_minutes: 60 } })).size).toBe(1);
    // reserve_slots 1: the allocation this node saw first holds it.
    const first = gate.holders(context([held("uhCAk-carol", { seenAtMs: now - 1000 }), held("uhCAk-alice", { seenAtMs: now - 5000 })], two));
    expect([...first.keys()]).toEqual(["uhCAk-alice"]);
    // Never more than the node has.
    expect(gate.holders(context([held("uhCAk-a"), held("uhCAk-b"), held("uhCAk-c")], { capacity: 2, limits: { reserve_slots: 8, max_minutes: 60 } })).size).toBe(2);
    // 0: allocations only steer the requester's placement.
    expect(gate.holders(context([held("uhCAk-alice")], { limits: { reserve_slots: 0, max_minutes: 60 } })).size).toBe(0);
    // Counted for max_minutes from when this node first read it, and never past its expiry.
    expect(gate.holders(context([held("uhCAk-alice", { seenAtMs: now - 61 * 60_000 })])).size).toBe(0);
    expect(gate.holders(context([held("uhCAk-alice", { expiresAtMs: now - 1 })])).size).toBe(0);
    // A requester the policy does not let submit jobs holds nothing; nor does this node itself.
    expect(gate.holders(context([held("uhCAk-denied"), held("uhCAk-self")])).size).toBe(0);
    expect(() => gate.admit("uhCAk-bob", qwen, context([held("uhCAk-denied")]))).not.toThrow();
  });

  it("holds slots by default only for requesters on the policy's allow list; honour: mesh, for any it admits", () => {
    const policy = loadComputePolicy(defaultComputePolicyFile);
    expect(policy.worker.allocations).toEqual({ reserve_slots: 1, max_minutes: 60, honour: "allow_list" });
    expect(allocationHonoured(policy, "uhCAk-alice", true)).toBe(false);
    policy.worker.requesters.allow.push("uhCAk-alice");
    expect(allocationHonoured(policy, "uhCAk-alice", true)).toBe(true);
    policy.worker.allocations.honour = "mesh";
    expect(allocationHonoured(policy, "uhCAk-bob", true)).toBe(true);
    // Never for a requester the policy refuses outright.
    expect(allocationHonoured(policy, "uhCAk-bob", false)).toBe(false);
    policy.worker.requesters.deny.push("uhCAk-alice");
    expect(allocationHonoured(policy, "uhCAk-alice", true)).toBe(false);
  });
});
