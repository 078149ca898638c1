// Entry point of the django-debug-toolbar panel (lifecycle/panels.py lists it in the panel's `scripts`).
// The toolbar adds it to the page as a module once the panel's content has been inserted, and announces
// every later insertion (another request picked in its history) with the `djdt.panel.render` event on
// its #djDebug element, inside the shadow root of #djDebugRoot when it uses one.

import "./panel.css";
import { mountPanels } from "./views/panel-view";

const stylesheet = new URL("./panel.css", import.meta.url).href;

function toolbarRoot(): ParentNode {
  const root = document.getElementById("djDebugRoot");
  return root?.shadowRoot ?? document;
}

const scope = toolbarRoot();
mountPanels(scope, stylesheet);
// Any panel's render: mounting is cheap and skips the panels already shown (and a site may rename ours).
scope.querySelector("#djDebug")?.addEventListener("djdt.panel.render", () => mountPanels(toolbarRoot(), stylesheet));
