#!/usr/bin/env node
// Runs a command inside a new network namespace that has only loopback, so that conductors,
// bootstrap servers, libp2p and kubo started by tests cannot reach (or probe) any other network.
// Where unprivileged user namespaces are forbidden, the command runs on this host's loopback
// addresses instead, with a warning that it is not isolated.
import { spawnSync } from "node:child_process";

const command = process.argv.slice(2);
if (command.length === 0) {
  process.stderr.write("usage: in-loopback-netns.mjs COMMAND [ARGS...]\n");
  process.exit(2);
}
const quoted = command.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
const localBin = `${process.cwd()}/node_modules/.bin`;
const env = { ...process.env, PATH: `${localBin}:${process.env.PATH}`, RIPPLE_NETNS: "loopback-only" };

// A PID namespace too, where allowed: when the command ends, every process it left behind (a
// conductor orphaned by a test that timed out, a kubo whose daemon was SIGKILLed) is killed with
// it instead of running on and loading the machine for the next test run.
const pidNamespace = ["--pid", "--fork", "--kill-child", "--mount-proc"];
const flags = [["-rn", ...pidNamespace], ["-rn"]].find((f) => spawnSync("unshare", [...f, "true"], { stdio: "ignore" }).status === 0);
if (flags) {
  const result = spawnSync("unshare", [...flags, "sh", "-c", `ip link set lo up && exec ${quoted}`], { stdio: "inherit", env });
  process.exit(result.status ?? 1);
}
process.stderr.write("warning: cannot create a network namespace here (unshare -rn failed); tests run on loopback addresses but are NOT isolated\n");
const result = spawnSync(command[0], command.slice(1), { stdio: "inherit", env: { ...env, RIPPLE_NETNS: "none" } });
process.exit(result.status ?? 1);
