// Entry point: reads the config rendered by lifecycle/templates/lifecycle/dashboard.html and mounts the app.

import "./styles.css";
import { readConfig } from "./config";
import { mountApp } from "./views/app";
import { warmUpWhenIdle } from "./views/warm-up";

const root = document.getElementById("lifecycle-app");
if (root) {
  const { config, warning } = readConfig(document);
  if (warning) console.warn(`[lifecycle] ${warning}`);
  const app = mountApp(root, config);
  warmUpWhenIdle(root, () => app.state.get().open === null);
} else {
  console.warn("[lifecycle] no #lifecycle-app element on the page");
}
