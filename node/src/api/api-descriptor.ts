// `<dataDir>/api.json`: how a CLI on this machine finds the running daemon's local API (and its token).
// Written (0600, atomically) once the API listens, removed when it closes. A file whose pid is no
// longer alive is stale (the daemon crashed or was killed) and is reported as such, never trusted.
import { randomBytes } from "node:crypto";
import { chmod, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { RippleError } from "../errors.ts";

export const API_DESCRIPTOR_FILE = "api.json";

const apiDescriptorSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  pid: z.number().int().positive(),
  token: z.string().min(1).optional(),
  startedAt: z.iso.datetime(),
});

export type ApiDescriptor = z.infer<typeof apiDescriptorSchema>;

/** No daemon serves this data dir (no api.json, or a stale one). */
export class NoDaemonRunningError extends RippleError {}

export function apiDescriptorPath(dataDir: string): string {
  return join(dataDir, API_DESCRIPTOR_FILE);
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Writes `<dataDir>/api.json` for this process (mode 0600: it may hold the API token). Refuses to
 * replace the descriptor of another live daemon, which would hide that daemon from the CLI.
 */
export async function writeApiDescriptor(dataDir: string, api: { url: string; token?: string }): Promise<ApiDescriptor> {
  const file = apiDescriptorPath(dataDir);
  const existing = await readRawDescriptor(file).catch(() => undefined);
  if (existing && existing.pid !== process.pid && isProcessAlive(existing.pid)) {
    throw new RippleError(
      `another daemon (pid ${existing.pid}, ${existing.url}) already serves data dir ${dataDir}`,
      `stop it with \`ripple down --data-dir ${dataDir}\`, or start this one with another --data-dir`,
    );
  }
  const descriptor: ApiDescriptor = {
    url: api.url,
    pid: process.pid,
    ...(api.token ? { token: api.token } : {}),
    startedAt: new Date().toISOString(),
  };
  apiDescriptorSchema.parse(descriptor);
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(descriptor, null, 2) + "\n", { mode: 0o600, flag: "wx" });
    await chmod(tmp, 0o600); // `mode` is filtered by the umask; a token file must not be group-readable
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new RippleError(`cannot write ${file}`, `check that ${dataDir} exists and is writable by this user`, { cause: err });
  }
  return descriptor;
}

/** Removes `<dataDir>/api.json` if this process wrote it (never another daemon's file). */
export async function removeApiDescriptor(dataDir: string): Promise<void> {
  const file = apiDescriptorPath(dataDir);
  const existing = await readRawDescriptor(file).catch(() => undefined);
  if (existing === undefined || existing.pid === process.pid) await rm(file, { force: true });
}

/** The running daemon's descriptor; throws `NoDaemonRunningError` when none runs for `dataDir`. */
export async function readApiDescriptor(dataDir: string): Promise<ApiDescriptor> {
  const file = apiDescriptorPath(dataDir);
  let descriptor: ApiDescriptor | undefined;
  try {
    descriptor = await readRawDescriptor(file);
  } catch (err) {
    if (err instanceof RippleError) throw err;
    throw new RippleError(`cannot read ${file}`, `check its permissions (it should belong to the user running the daemon)`, { cause: err });
  }
  if (descriptor === undefined) {
    throw new NoDaemonRunningError(`no daemon is running for data dir ${dataDir} (no ${file})`, "start one with `ripple up`");
  }
  if (!isProcessAlive(descriptor.pid)) {
    throw new NoDaemonRunningError(
      `no daemon is running for data dir ${dataDir}: ${file} is stale (its daemon, pid ${descriptor.pid}, is gone)`,
      `start one with \`ripple up\` (it replaces the stale file); see ${join(dataDir, "logs")} for why the last one stopped`,
    );
  }
  return descriptor;
}

/** undefined when the file does not exist; RippleError when it exists but is not a descriptor. */
async function readRawDescriptor(file: string): Promise<ApiDescriptor | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RippleError(`${file} is not valid JSON`, "delete it and restart the daemon with `ripple up`", { cause: err });
  }
  const parsed = apiDescriptorSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new RippleError(`${file} is not a daemon API descriptor: ${where}: ${issue?.message}`, "delete it and restart the daemon with `ripple up`");
  }
  return parsed.data;
}
