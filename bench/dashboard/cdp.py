"""Chromium driven over a bare DevTools protocol connection, for the ingest run.

Playwright enables the ``Network`` domain on every page it controls, and Chromium then copies every
websocket frame to it (``Network.webSocketFrameReceived`` carries the payload): at 15 MB/s of frames the
browser process and Playwright's driver took about a CPU between them on a 2-CPU machine and the frames
reached the page hundreds of milliseconds late. This client sends only ``Target``, ``Emulation``,
``Page.navigate``, ``Runtime.evaluate`` and ``Profiler`` commands, and never enables ``Network``.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import tempfile
import time
from typing import Any

from websockets.sync.client import connect


class CdpError(RuntimeError):
    pass


class Chromium:
    def __init__(self, executable: str, args: list[str], width: int, height: int) -> None:
        self.profile_dir = tempfile.TemporaryDirectory(prefix="bench-dashboard-chromium-")
        self.proc = subprocess.Popen(
            [executable, *args, "--remote-debugging-port=0", f"--user-data-dir={self.profile_dir.name}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = None
        deadline = time.monotonic() + 30
        assert self.proc.stderr is not None
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                break
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                url = m.group(1)
                break
        if url is None:
            raise CdpError(f"{executable} did not start a DevTools endpoint")
        self.ws = connect(url, max_size=None, open_timeout=30)
        self.ids = itertools.count(1)
        # Events kept for the caller (e.g. Tracing.dataCollected); every other event is dropped.
        self.capture: set[str] = set()
        self.captured: list[dict[str, Any]] = []
        self.width, self.height = width, height
        self.version = self.send("Browser.getVersion")["product"]

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 60) -> dict[str, Any]:
        msg_id = next(self.ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            data = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if data.get("id") == msg_id:
                if "error" in data:
                    raise CdpError(f"{method}: {data['error']}")
                return data.get("result", {})
            if data.get("method") in self.capture:
                self.captured.append(data)

    def pump(self, until: str, timeout: float = 60) -> None:
        """Reads events until one named `until` arrives (kept if captured)."""
        deadline = time.monotonic() + timeout
        while True:
            data = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if data.get("method") in self.capture:
                self.captured.append(data)
            if data.get("method") == until:
                return

    def new_page(self, url: str) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                         "deviceScaleFactor": 1, "mobile": False}, session)
        self.send("Page.navigate", {"url": url}, session)
        return page

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        self.ws.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.profile_dir.cleanup()


class Page:
    def __init__(self, browser: Chromium, target: str, session: str) -> None:
        self.browser, self.target, self.session = browser, target, session

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 60) -> dict[str, Any]:
        return self.browser.send(method, params, self.session, timeout)

    def evaluate(self, expression: str, timeout: float = 60) -> Any:
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                      timeout)
        if "exceptionDetails" in r:
            raise CdpError(f"{expression[:80]}...: {r['exceptionDetails'].get('exception', {}).get('description')}")
        return r["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, poll: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {expression}")
            time.sleep(poll)

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})
