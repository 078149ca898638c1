// Rebuilds the dashboard and the toolbar panel (both entries of vite.config.ts) into a temporary folder and
// compares them byte for byte with the committed build in lifecycle/static/lifecycle/. Exits 1 when they differ (CI runs this).

import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const committed = resolve(root, "../lifecycle/static/lifecycle");
const tmp = mkdtempSync(join(tmpdir(), "lifecycle-dashboard-"));

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    let names;
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

try {
  await build({ root, configFile: resolve(root, "vite.config.ts"), logLevel: "warn", build: { outDir: tmp, emptyOutDir: true } });
  const fresh = listFiles(tmp);
  const old = listFiles(committed);
  const problems = [];
  for (const f of fresh) {
    if (!old.includes(f)) problems.push(`missing from the committed build: ${f}`);
    else if (!readFileSync(join(tmp, f)).equals(readFileSync(join(committed, f)))) problems.push(`differs: ${f}`);
  }
  for (const f of old) if (!fresh.includes(f)) problems.push(`not produced by the build any more: ${f}`);
  if (problems.length) {
    console.error("built dashboard is stale: run `make frontend`");
    for (const p of problems) console.error(`  ${p}`);
    process.exitCode = 1;
  } else {
    console.log(`built dashboard is up to date (${fresh.join(", ")})`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
