// The conductor config: written with the daemon's keys, a person's other keys kept, and a
// corrupt file refused with an error naming it (never silently overwritten). Includes a config
// that passes our checks but that the real conductor rejects at start.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Conductor } from "../src/conductor/conductor.ts";
import { writeConductorConfig } from "../src/conductor/conductor-config.ts";
import { conductorAllocator, jemallocConf } from "../src/conductor/conductor-memory-env.ts";
import { nodePaths } from "../src/config/node-paths.ts";
import { checkToolchain } from "../src/config/toolchain.ts";
import { ConductorConfigError, ProcessStartError } from "../src/errors.ts";
import { createLogger } from "../src/log.ts";
import { happFile } from "../src/config/paths.mjs";

const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync("/tmp/rm-cfg-");
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const input = { dataRoot: "/tmp/x/hc", bootstrapUrl: "http://127.0.0.1:1", relayUrl: "http://127.0.0.1:1", fastGossip: false };

async function conductorFor(dir: string) {
  const tc = await checkToolchain({ only: ["holochain"] });
  return new Conductor({
    holochainBinary: tc.path("holochain"),
    paths: nodePaths(dir),
    bootstrapUrl: "http://127.0.0.1:9",
    relayUrl: "http://127.0.0.1:9",
    networkSeed: "config-test",
    happFile,
    log: createLogger("test", "silent"),
    readyTimeoutMs: 30_000,
  });
}

describe("conductor config", () => {
  it("writes the owned keys: in-process lair, loopback admin websocket with a fixed origin, both URLs", () => {
    const file = join(dataDir(), "conductor-config.yaml");
    writeConductorConfig(file, input);
    const config = parse(readFileSync(file, "utf8"));
    expect(config.keystore).toEqual({ type: "lair_server_in_proc" });
    expect(config.admin_interfaces[0].driver).toEqual({ type: "websocket", port: 0, allowed_origins: "ripple-mesh-daemon" });
    expect(config.admin_interfaces[0].driver.danger_bind_addr).toBeUndefined();
    expect(config.network.bootstrap_url).toBe(input.bootstrapUrl);
    expect(config.network.relay_url).toBe(input.relayUrl);
    // A memory default (conductor-config.ts memoryDefaults), kept only while the file does not set one.
    expect(config.db_max_readers).toBe(2);
  });

  it("with fast gossip, dials of dead peers time out in 3 s instead of Holochain's 22 s, and gossip rounds in 3 s (issue #20)", () => {
    const read = (fastGossip: boolean) => {
      const file = join(dataDir(), "conductor-config.yaml");
      writeConductorConfig(file, { ...input, fastGossip });
      return parse(readFileSync(file, "utf8")).network;
    };
    const fast = read(true);
    // Holochain sets irohTransport.connectTimeoutS to floor(3/8 × request_timeout_s), overwriting ours.
    expect(Math.floor((fast.request_timeout_s * 3) / 8)).toBe(3);
    expect(fast.advanced.irohTransport).toEqual({ relayAllowPlainText: true });
    // A gossip round with a dead peer ends after 3 s (+ kitsune2's 5 s check) instead of 10–15 s.
    expect(fast.advanced.k2Gossip.roundTimeoutMs).toBe(3_000);
    // Rounds every 5 s: every second cost an idle conductor 20.8% of a core in a 3-node mesh, 5 s 8.0%.
    expect(fast.advanced.k2Gossip.initiateIntervalMs).toBe(5_000);
    expect(read(false).request_timeout_s).toBeUndefined();
    expect(read(false).advanced.k2Gossip).toBeUndefined();
  });

  it("on the local mesh (a LAN), a request to a dead peer gives up after 4 s and a dial after 1 s; testnet keeps 8 s and 3 s", () => {
    const network = (localMesh: boolean) => {
      const file = join(dataDir(), "conductor-config.yaml");
      writeConductorConfig(file, { ...input, fastGossip: true, localMesh });
      return parse(readFileSync(file, "utf8")).network;
    };
    const local = network(true);
    expect(local.request_timeout_s).toBe(4);
    expect(Math.floor((local.request_timeout_s * 3) / 8)).toBe(1);
    expect(local.advanced.k2Gossip.initiateIntervalMs).toBe(5_000);
    expect(network(false).request_timeout_s).toBe(8);
  });

  it("with fast gossip, retries validation after 1 s unless the file says otherwise, keeping the file's other tuning params", () => {
    const file = join(dataDir(), "conductor-config.yaml");
    writeConductorConfig(file, { ...input, fastGossip: true });
    expect(parse(readFileSync(file, "utf8")).tuning_params).toEqual({ sys_validation_retry_delay: { secs: 1, nanos: 0 }, disable_self_validation: false });
    // A node whose file disables self-validation (the rogue test node) keeps it, and gets the retry.
    writeFileSync(file, "tuning_params:\n  disable_self_validation: true\n");
    writeConductorConfig(file, { ...input, fastGossip: true });
    expect(parse(readFileSync(file, "utf8")).tuning_params).toEqual({ sys_validation_retry_delay: { secs: 1, nanos: 0 }, disable_self_validation: true });
    writeFileSync(file, "tuning_params:\n  disable_self_validation: true\n");
    writeConductorConfig(file, input);
    expect(parse(readFileSync(file, "utf8")).tuning_params).toEqual({ disable_self_validation: true });
    rmSync(file);
    writeConductorConfig(file, input);
    expect(parse(readFileSync(file, "utf8")).tuning_params).toBeUndefined();
  });

  it("keeps keys a person added and replaces the daemon's own", () => {
    const file = join(dataDir(), "conductor-config.yaml");
    writeFileSync(file, "db_max_readers: 7\nnetwork:\n  bootstrap_url: http://old\n  relay_url: http://old\n");
    writeConductorConfig(file, input);
    const config = parse(readFileSync(file, "utf8"));
    expect(config.db_max_readers).toBe(7);
    expect(config.network.bootstrap_url).toBe(input.bootstrapUrl);
  });

  it("refuses a corrupt config file, naming it, and leaves it untouched", async () => {
    const dir = dataDir();
    const file = nodePaths(dir).conductorConfig;
    const corrupt = "admin_interfaces: [\n  {driver: \u0000\n";
    writeFileSync(file, corrupt);
    const conductor = await conductorFor(dir);
    const err = await conductor.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConductorConfigError);
    expect((err as Error).message).toContain(`${file} is not a usable conductor config: not valid YAML`);
    expect((err as Error).message).toContain(`Fix: correct it, or delete ${file}`);
    expect(readFileSync(file, "utf8")).toBe(corrupt);
  });

  it("refuses an unknown key, naming it", async () => {
    const dir = dataDir();
    writeFileSync(nodePaths(dir).conductorConfig, "data_root_pth: /tmp/typo\n");
    const err = await (await conductorFor(dir)).start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConductorConfigError);
    expect((err as Error).message).toMatch(/key data_root_pth: Unrecognized key/);
  });

  it("reports the conductor's own rejection of a config, with its output and the file to fix", async () => {
    const dir = dataDir();
    const file = nodePaths(dir).conductorConfig;
    writeFileSync(file, "tuning_params:\n  no_such_tuning_param: 1\n");
    const err = await (await conductorFor(dir)).start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessStartError);
    expect((err as Error).message).toMatch(/holochain conductor .* exited during start-up/);
    expect((err as Error).message).toContain("no_such_tuning_param");
    expect((err as Error).message).toContain(`correct or delete ${file}`);
  });
});

describe("the conductor's allocator", () => {
  const jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
  const only = (path: string) => (p: string) => p === path;
  const none = () => false;

  it("is jemalloc where the machine has it, preloaded with its decay settings", () => {
    expect(conductorAllocator({}, "linux", only(jemalloc), "x64")).toEqual({ allocator: "jemalloc", env: { LD_PRELOAD: jemalloc, MALLOC_CONF: jemallocConf } });
    const arm = "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2";
    expect(conductorAllocator({}, "linux", only(arm), "arm64").env.LD_PRELOAD).toBe(arm);
    // Another architecture's library is never preloaded (ld.so would ignore it and the log would lie).
    expect(conductorAllocator({}, "linux", only(arm), "x64").allocator).toBe("glibc");
    expect(conductorAllocator({ MALLOC_CONF: "narenas:4" }, "linux", only(jemalloc), "x64").env.MALLOC_CONF).toBe("narenas:4");
  });

  it("leaves a person's own preload alone and stays on glibc (libfaketime after jemalloc recurses)", () => {
    const r = conductorAllocator({ LD_PRELOAD: "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1" }, "linux", only(jemalloc), "x64");
    expect(r).toEqual({ allocator: "glibc", env: { MALLOC_ARENA_MAX: "2" } });
  });

  it("is glibc with two arenas without jemalloc, off Linux, or when turned off", () => {
    const glibc = { allocator: "glibc", env: { MALLOC_ARENA_MAX: "2" } };
    expect(conductorAllocator({}, "linux", none)).toEqual(glibc);
    expect(conductorAllocator({}, "darwin", only(jemalloc), "x64")).toEqual(glibc);
    expect(conductorAllocator({ RIPPLE_CONDUCTOR_ALLOCATOR: "glibc" }, "linux", only(jemalloc), "x64")).toEqual(glibc);
    expect(conductorAllocator({ MALLOC_ARENA_MAX: "4" }, "linux", none).env).toEqual({ MALLOC_ARENA_MAX: "4" });
  });
});
