import { defineConfig } from "vitest/config";

// The build output is committed (lifecycle/static/lifecycle/) so that installing the Django app needs no
// Node. Fixed file names, no hashes, no source maps, no public dir: the same sources must give
// byte-identical files (scripts/check-build.mjs compares them).
export default defineConfig({
  base: "./",
  publicDir: false,
  build: {
    outDir: "../lifecycle/static/lifecycle",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    modulePreload: false,
    cssCodeSplit: false,
    reportCompressedSize: true,
    rolldownOptions: {
      input: "src/main.ts",
      output: {
        format: "es",
        entryFileNames: "dashboard.js",
        chunkFileNames: "dashboard-[name].js",
        assetFileNames: (asset) => (asset.names.some((n) => n.endsWith(".css")) ? "dashboard.css" : "[name][extname]"),
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
  },
});
