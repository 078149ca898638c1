import type { AtRule, Plugin, Rule } from "postcss";
import { defineConfig } from "vitest/config";

// The toolbar panel (src/panel.ts) shows the dashboard's views inside a shadow root of its own, so that
// neither the host page's styles nor the toolbar's reach them, and theirs reach nothing else. There the
// dashboard's page-wide rules (`:root`, `html`, `body`) have nothing to match: in src/panel.css (which
// imports styles.css), they become `:host` rules, and the theme follows the toolbar's (views/panel-view.ts
// copies its data-theme onto the host): a dark rule applies under an explicit dark theme, or when the
// system is dark and the toolbar's theme is not light.
const PAGE_SELECTORS = new Set([":root", "html", "body"]);

export function panelHostStyles(): Plugin {
  const hostOf = (rule: Rule): boolean => rule.selectors.every((s) => PAGE_SELECTORS.has(s.trim()));
  return {
    postcssPlugin: "lifecycle-panel-host",
    OnceExit(root) {
      if (!root.source?.input.file?.endsWith("/src/panel.css")) return;
      root.walkRules((rule) => {
        if (!hostOf(rule)) return;
        const media = rule.parent?.type === "atrule" ? (rule.parent as AtRule) : null;
        if (media?.name === "media" && media.params.replace(/\s+/g, "") === "(prefers-color-scheme:dark)") {
          rule.selector = ':host(:not([data-theme="light"]))';
          media.after(rule.clone({ selector: ':host([data-theme="dark"])' }));
        } else rule.selector = ":host";
      });
    },
  };
}

// The build output is committed (lifecycle/static/lifecycle/) so that installing the Django app needs no
// Node. Fixed file names, no hashes, no source maps, no public dir: the same sources must give
// byte-identical files (scripts/check-build.mjs compares them). Two entries: the dashboard page
// (dashboard.js, dashboard.css) and the django-debug-toolbar panel (panel.js, panel.css); the code they
// share is in dashboard-shared.js.
export default defineConfig({
  base: "./",
  publicDir: false,
  css: { postcss: { plugins: [panelHostStyles()] } },
  build: {
    outDir: "../lifecycle/static/lifecycle",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    modulePreload: false,
    cssCodeSplit: true,
    reportCompressedSize: true,
    rolldownOptions: {
      input: { dashboard: "src/main.ts", panel: "src/panel.ts" },
      output: {
        format: "es",
        entryFileNames: "[name].js",
        // One fixed name whatever the shared modules are called (a new name would leave a stale file).
        chunkFileNames: "dashboard-shared.js",
        assetFileNames: "[name][extname]",
      },
    },
  },
  server: {
    // trace-schema.ts imports the JSON Schema from the Django app (one file for both readers).
    fs: { allow: [".", "../lifecycle/schema"] },
    // `npm run dev` against `make demo`: the API and the websocket come from Django.
    proxy: {
      "/__lifecycle__/api": "http://127.0.0.1:8000",
      "/__lifecycle__/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
    // happy-dom loads no stylesheet files: the panel's <link> to panel.css counts as loaded (not an error).
    environmentOptions: { happyDOM: { settings: { handleDisabledFileLoadingAsSuccess: true } } },
  },
});
