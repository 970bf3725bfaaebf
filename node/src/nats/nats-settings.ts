// What `ripple up --nats VALUE` means, checked before anything connects: `local` (a nats-server this
// node starts on 127.0.0.1) or a server's URL (nats://HOST[:PORT], or tls://… to require TLS), with
// the credentials from the environment: a token (RIPPLE_NATS_TOKEN) or an nkey seed
// (RIPPLE_NATS_NKEY_SEED). A server beyond loopback without either is refused: anyone who can reach
// it could read this node's events and submit jobs in its name.
import { nkeys } from "nats";
import { isLoopbackHost, normalizeHostname } from "../api/request-guard.ts";
import { NatsConfigError } from "./nats-config-error.ts";

export type NatsAuth = { kind: "none" } | { kind: "token"; token: string } | { kind: "nkey"; seed: string; publicKey: string };

export type NatsServerChoice =
  | { kind: "local" }
  /** `address` is HOST:PORT as the client dials it; `url` is what logs and the status show (no credentials). */
  | { kind: "remote"; url: string; address: string; host: string; loopback: boolean; tls: boolean };

export interface NatsSettings {
  server: NatsServerChoice;
  auth: NatsAuth;
}

export { NatsConfigError };

export const NATS_TOKEN_ENV = "RIPPLE_NATS_TOKEN";
export const NATS_NKEY_SEED_ENV = "RIPPLE_NATS_NKEY_SEED";
const DEFAULT_NATS_PORT = 4222;
const MAX_TOKEN_LENGTH = 1024;

/** The settings for `--nats VALUE`, or a NatsConfigError saying what is wrong and how to fix it. */
export function natsSettings(value: string, env: NodeJS.ProcessEnv = process.env): NatsSettings {
  const auth = natsAuthFrom(env);
  const server = natsServerFrom(value.trim());
  const offMachine = server.kind === "remote" && !server.loopback;
  if (offMachine && auth.kind === "none") {
    throw new NatsConfigError(
      `refusing to use the NATS server ${server.url} without a token or an nkey: it is not on this machine, and anyone who can reach it could read this node's events and submit jobs in its name`,
      `set ${NATS_TOKEN_ENV} (the server's authorization token) or ${NATS_NKEY_SEED_ENV} (a user nkey seed, SU…) before \`ripple up\`, or use a server on loopback (--nats local starts one)`,
    );
  }
  // NATS sends a token in clear in its CONNECT line; an nkey answers a challenge and never crosses the wire.
  if (offMachine && auth.kind === "token" && !server.tls) {
    throw new NatsConfigError(
      `refusing to send ${NATS_TOKEN_ENV} to ${server.url} without TLS: the token would cross the network in clear, and whoever reads it can submit jobs in this node's name`,
      `write the server as tls://HOST:PORT (a server with TLS), or authenticate with ${NATS_NKEY_SEED_ENV} (an nkey is never sent)`,
    );
  }
  // A loopback API locked with a token must not be bypassed through an open NATS server on the same machine.
  if (!offMachine && auth.kind === "none" && env.RIPPLE_API_TOKEN) {
    throw new NatsConfigError(
      "RIPPLE_API_TOKEN locks the local API, but the NATS server would take job submissions from anyone on this machine without a credential",
      `set ${NATS_TOKEN_ENV} (e.g. \`export ${NATS_TOKEN_ENV}=$(openssl rand -hex 32)\`; --nats local then requires it) or ${NATS_NKEY_SEED_ENV} before \`ripple up\``,
    );
  }
  return { server, auth };
}

function natsServerFrom(value: string): NatsServerChoice {
  if (value === "local") return { kind: "local" };
  const fix = "write it as nats://HOST:PORT (or tls://HOST:PORT to require TLS), or `local` to start a nats-server on 127.0.0.1";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new NatsConfigError(`--nats ${JSON.stringify(value)} is not a URL`, fix);
  }
  if (url.protocol !== "nats:" && url.protocol !== "tls:") throw new NatsConfigError(`--nats ${JSON.stringify(value)} has the scheme ${url.protocol} (nats: or tls: expected)`, fix);
  if (url.username || url.password) {
    throw new NatsConfigError("--nats must not hold credentials (they would show in logs and in `ps`)", `remove them from the URL and set ${NATS_TOKEN_ENV} or ${NATS_NKEY_SEED_ENV} instead`);
  }
  if (!url.hostname || (url.pathname !== "" && url.pathname !== "/") || url.search || url.hash) throw new NatsConfigError(`--nats ${JSON.stringify(value)} is not a server address`, fix);
  const port = url.port ? Number(url.port) : DEFAULT_NATS_PORT;
  const host = normalizeHostname(url.hostname);
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    kind: "remote",
    url: `${url.protocol}//${hostPart}:${port}`,
    address: `${hostPart}:${port}`,
    host,
    loopback: isLoopbackHost(host),
    tls: url.protocol === "tls:",
  };
}

function natsAuthFrom(env: NodeJS.ProcessEnv): NatsAuth {
  const token = env[NATS_TOKEN_ENV] || undefined;
  const seed = env[NATS_NKEY_SEED_ENV]?.trim() || undefined;
  if (token && seed) throw new NatsConfigError(`both ${NATS_TOKEN_ENV} and ${NATS_NKEY_SEED_ENV} are set`, `unset the one the NATS server does not use`);
  if (token) {
    if (token.length > MAX_TOKEN_LENGTH || /[\s\x00-\x1f\x7f]/.test(token)) {
      throw new NatsConfigError(`${NATS_TOKEN_ENV} must be 1 to ${MAX_TOKEN_LENGTH} characters without spaces or control characters`, `set it to the NATS server's token, e.g. \`export ${NATS_TOKEN_ENV}=$(openssl rand -hex 32)\` for --nats local`);
    }
    return { kind: "token", token };
  }
  if (seed) return { kind: "nkey", seed, publicKey: userNkeyPublicKey(seed) };
  return { kind: "none" };
}

/** The public key (U…) of a user nkey seed (SU…); a NatsConfigError if it is not one. */
function userNkeyPublicKey(seed: string): string {
  const fix = `set ${NATS_NKEY_SEED_ENV} to a user nkey seed (one line starting with SU, as \`nk -gen user\` prints it)`;
  let publicKey: string;
  try {
    publicKey = nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  } catch (err) {
    throw new NatsConfigError(`${NATS_NKEY_SEED_ENV} is not an nkey seed`, fix, { cause: err });
  }
  if (!publicKey.startsWith("U")) throw new NatsConfigError(`${NATS_NKEY_SEED_ENV} is an nkey seed, but not a user's (its public key starts with ${publicKey[0]})`, fix);
  return publicKey;
}
