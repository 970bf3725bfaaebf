// Everything between "the admin port is open" and "zome calls work": install and enable the hApp
// (once; the network seed picks the mesh), authorize signing credentials once per cell (persisted),
// reuse the persisted app interface, and connect an app websocket with a long-lived token.
import {
  AdminWebsocket,
  AppWebsocket,
  CellType,
  generateSigningKeyPair,
  setSigningCredentials,
  type AppInfo,
  type CellId,
  type SigningCredentials,
} from "@holochain/client";
import type { Logger } from "../log.ts";
import { daemonOrigin } from "./conductor-config.ts";
import { loadSigningCredentials, saveSigningCredentials } from "./secrets.ts";

export interface AppSetupOptions {
  appId: string;
  happFile: string;
  networkSeed: string;
  credentialsFile: string;
  log: Logger;
  timeoutMs: number;
}

export interface AppConnection {
  appInfo: AppInfo;
  app: AppWebsocket;
  appPort: number;
  cells: Map<string, CellId>;
}

/**
 * Installing compiles the wasm of every DNA: ~10 s on an idle 2-core machine, but over 30 s (the
 * usual call timeout) when several conductors of one machine compile at once.
 */
const INSTALL_TIMEOUT_MS = 180_000;

export async function ensureAppInstalled(admin: AdminWebsocket, opts: AppSetupOptions): Promise<AppInfo> {
  const installed = (await admin.listApps({})).find((a) => a.installed_app_id === opts.appId);
  let appInfo = installed;
  if (!appInfo) {
    opts.log.info({ appId: opts.appId, networkSeed: opts.networkSeed, timeoutMs: INSTALL_TIMEOUT_MS }, "installing hApp (compiles the DNAs' wasm: ~10 s alone, longer while other conductors compile)");
    appInfo = await admin.installApp(
      {
        source: { type: "path", value: opts.happFile },
        installed_app_id: opts.appId,
        network_seed: opts.networkSeed,
      },
      INSTALL_TIMEOUT_MS,
    );
  }
  if (appInfo.status.type !== "enabled") {
    appInfo = (await admin.enableApp({ installed_app_id: opts.appId })) as AppInfo;
  }
  return appInfo;
}

export function provisionedCells(appInfo: AppInfo): Map<string, CellId> {
  const cells = new Map<string, CellId>();
  for (const [role, infos] of Object.entries(appInfo.cell_info)) {
    for (const info of infos) {
      if (info.type === CellType.Provisioned) cells.set(role, info.value.cell_id);
    }
  }
  return cells;
}

/** Restore stored credentials, or grant new ones once and store them. */
async function ensureSigningCredentials(admin: AdminWebsocket, cellId: CellId, opts: AppSetupOptions): Promise<void> {
  let credentials: SigningCredentials | undefined = loadSigningCredentials(opts.credentialsFile, cellId);
  if (!credentials) {
    const [keyPair, signingKey] = await generateSigningKeyPair();
    const capSecret = await admin.grantSigningKey(cellId, { type: "all" }, signingKey);
    credentials = { capSecret, keyPair, signingKey };
    saveSigningCredentials(opts.credentialsFile, cellId, credentials);
    opts.log.info("authorized new zome-call signing credentials");
  }
  setSigningCredentials(cellId, credentials);
}

/** App interfaces persist across conductor restarts (with a new port when bound to port 0). */
async function ensureAppInterface(admin: AdminWebsocket, appId: string): Promise<number> {
  const existing = (await admin.listAppInterfaces()).find(
    (i) => i.allowed_origins === daemonOrigin && (i.installed_app_id ?? appId) === appId,
  );
  if (existing) return existing.port;
  const { port } = await admin.attachAppInterface({ port: 0, allowed_origins: daemonOrigin, installed_app_id: appId });
  return port;
}

export async function connectApp(admin: AdminWebsocket, opts: AppSetupOptions): Promise<AppConnection> {
  const appInfo = await ensureAppInstalled(admin, opts);
  const cells = provisionedCells(appInfo);
  for (const cellId of cells.values()) await ensureSigningCredentials(admin, cellId, opts);
  const appPort = await ensureAppInterface(admin, opts.appId);
  const { token } = await admin.issueAppAuthenticationToken({
    installed_app_id: opts.appId,
    single_use: false,
    expiry_seconds: 0,
  });
  const app = await AppWebsocket.connect({
    url: new URL(`ws://localhost:${appPort}`),
    token,
    wsClientOptions: { origin: daemonOrigin },
    defaultTimeout: opts.timeoutMs,
  });
  return { appInfo, app, appPort, cells };
}
