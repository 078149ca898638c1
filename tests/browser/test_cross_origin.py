"""A page of another site, open in the developer's browser, cannot read the dashboard.

The demo site runs with ``ALLOWED_HOSTS = ["*"]`` (as containers and many dev setups do) and the
developer's browser is allowed in (127.0.0.1 is in INTERNAL_IPS). A page served from another origin
then tries what a hostile page would: open the websocket, fetch the JSON API with credentials, load it
as a script. Real Chromium, real daphne.
"""

from __future__ import annotations

import http.server
import threading

import pytest

from tests.browser.conftest import DemoServer, free_port

pytestmark = pytest.mark.browser

ATTACK = """<!doctype html><title>elsewhere</title><script>
window.result = new Promise((resolve) => {
  const out = {frames: [], close: null, fetch: null, script: null};
  const ws = new WebSocket(%(ws)s);
  ws.onmessage = (ev) => out.frames.push(String(ev.data).slice(0, 200));
  ws.onclose = (ev) => { out.close = ev.code; done(); };
  fetch(%(api)s, {credentials: "include"})
    .then((r) => r.text().then((t) => { out.fetch = "read " + r.status + " " + t.slice(0, 200); }))
    .catch((e) => { out.fetch = "blocked: " + e.name; })
    .finally(done);
  const s = document.createElement("script");
  s.src = %(api)s;
  s.onload = () => { out.script = "loaded"; done(); };
  s.onerror = () => { out.script = "error"; done(); };
  document.head.appendChild(s);
  setTimeout(() => resolve(out), 5000);  // a socket that is never closed: report what it received
  function done() {
    if (out.close !== null && out.fetch !== null && out.script !== null) resolve(out);
  }
});
</script>"""


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    server = DemoServer(tmp_path_factory.mktemp("demo-any-host"), env={"DJANGO_ALLOWED_HOSTS": "*"}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def elsewhere(open_server):
    """Another origin: the same machine, another port."""
    port = free_port()
    page = ATTACK % {"ws": repr(f"ws://127.0.0.1:{open_server.port}/__lifecycle__/ws/"),
                     "api": repr(f"{open_server.url}/__lifecycle__/api/traces/")}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/"
    httpd.shutdown()


@pytest.mark.parametrize("where", ["other port", "localhost name"])
def test_a_page_on_another_origin_reads_nothing(browser, open_server, elsewhere, where):
    assert open_server.get("/books/") == 200  # there is something to steal: SQL of a recorded request
    url = elsewhere if where == "other port" else elsewhere.replace("127.0.0.1", "localhost")
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    result = page.evaluate("window.result")
    context.close()
    # The server's log says why, if the socket ended otherwise (1006: the handshake itself failed).
    assert result["close"] == 4400, (result, open_server.log.read_text()[-3000:])
    assert result["frames"] == [], "no hello, backlog or events reached the other page"
    assert result["fetch"].startswith("blocked"), result
    assert result["script"] == "error", result


def test_the_dashboard_itself_still_goes_live_with_every_host_allowed(browser, open_server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(open_server.url + "/__lifecycle__/")
    page.wait_for_selector('[data-testid=connection-state][data-state=live]', timeout=15000)
    context.close()
