// Builds the UI into ui/dist, which the daemon serves at `/` (node/src/api/ui-static.ts). Setup runs
// this when the UI's sources changed (node/setup/step-ui.mjs). TSX is compiled for Preact by Vite's
// own transformer (no framework plugin needed).
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The daemon's CSP forbids inline scripts and styles; keep every asset a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
