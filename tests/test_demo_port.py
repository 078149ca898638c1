"""`make demo PORT=...` on a busy port says so and stops, instead of daphne's silent hang."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "demo_site" / "check_port.py"


@pytest.fixture
def busy_port():
    """A port with a server listening on it, as another `make demo` would have."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check(port: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "127.0.0.1", str(port)], capture_output=True, text=True,
                          timeout=30)


def test_a_busy_port_is_named_with_the_command_to_run_instead(busy_port):
    result = check(busy_port)
    assert result.returncode == 1
    assert f"Port {busy_port} is in use" in result.stderr
    assert "make demo PORT=" in result.stderr
    suggested = int(result.stderr.split("make demo PORT=")[1].split("`")[0])
    assert suggested != busy_port


def test_a_free_port_passes_silently():
    result = check(free_port())
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_port_another_server_listens_on_for_every_address_is_busy():
    # A server bound to 0.0.0.0 (runserver 0:8000, docker) takes 127.0.0.1 too.
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        assert check(port).returncode == 1


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_on_a_busy_port_stops_before_serving(busy_port):
    # -o: the demo's install step counts as done (the suite runs in an installed venv); the rest is the real
    # target. Before the check, runserver printed "Listen failure" and then hung: the timeout catches that.
    make = subprocess.Popen(["make", "-o", ".venv/.installed-demo", "demo", f"PORT={busy_port}"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = make.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(make.pid, signal.SIGTERM)  # the server make started, too
        stdout, stderr = make.communicate()
        pytest.fail(f"make demo hung on a busy port:\n{stdout}{stderr}")
    assert make.returncode != 0
    assert f"Port {busy_port} is in use" in stderr
    assert "migrate" not in stdout and "runserver" not in stdout
