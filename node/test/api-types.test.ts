// The daemon, the CLI's API client and the web UI share one package of API shapes
// (@ripple-mesh/api-types). These checks fail `tsc` when what the daemon produces or the client
// returns drifts from the package, and at run time when the shared SSE parser stops holding its limits.
import type { ComputePolicy, DaemonStatus, MoeResult, PeerInfo, Policies } from "@ripple-mesh/api-types";
import { SseParser } from "@ripple-mesh/api-types";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { LocalApiClient } from "../src/api/api-client.ts";
import type { Daemon } from "../src/daemon/daemon.ts";
import type { computePolicySchema } from "../src/config/compute-policy.ts";
import type { z } from "zod";

describe("the API types package", () => {
  it("is what the daemon produces and what the API client returns", () => {
    expectTypeOf<Awaited<ReturnType<Daemon["start"]>>>().toEqualTypeOf<DaemonStatus>();
    expectTypeOf<ReturnType<Daemon["policies"]>>().toEqualTypeOf<Policies>();
    expectTypeOf<z.infer<typeof computePolicySchema>>().toEqualTypeOf<ComputePolicy>();
    expectTypeOf<Awaited<ReturnType<LocalApiClient["status"]>>>().toEqualTypeOf<DaemonStatus>();
    expectTypeOf<Awaited<ReturnType<LocalApiClient["peers"]>>>().toEqualTypeOf<PeerInfo[]>();
    expectTypeOf<Awaited<ReturnType<LocalApiClient["moe"]>>>().toEqualTypeOf<MoeResult>();
    expect(true).toBe(true);
  });

  it("parses event streams in any chunking and refuses a message over its limit with the caller's error", () => {
    const text = "event: token\ndata: {\"a\":1}\n\n: keep-alive\n\r\ndata: x\r\ndata: y\r\n\r\n";
    const whole = new SseParser().push(text);
    const byChar = new SseParser();
    const pieces = [...text].flatMap((c) => byChar.push(c));
    expect(whole).toEqual([{ event: "token", data: '{"a":1}' }, { event: undefined, data: "x\ny" }]);
    expect(pieces).toEqual(whole);

    class TooLarge extends Error {}
    const limited = new SseParser(16, (what) => new TooLarge(what));
    expect(() => limited.push("data: " + "z".repeat(17) + "\n")).toThrow(/larger than 16 bytes/);
    expect(() => new SseParser(16, (w) => new TooLarge(w)).push("data: " + "z".repeat(40))).toThrow(TooLarge);
  });
});
