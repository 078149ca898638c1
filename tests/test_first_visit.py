"""A first visit: a fresh ``django-admin startproject`` that follows the README opens the dashboard.

The project is made by Django's own ``startproject``; the README's settings, urls.py and asgi.py
snippets are applied as a reader would (the entries of a list go where its ``# ...`` line stands), then
``manage.py migrate`` and ``check`` run, and a script opens the dashboard page and its websocket from
127.0.0.1. Without the snippet's ``INTERNAL_IPS`` line the check warns and the 403 page says what to add.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_block(first_line: str) -> str:
    """The README's python block that starts with ``first_line``."""
    for block in re.findall(r"```python\n(.*?)```", README, re.S):
        if block.startswith(first_line + "\n"):
            return block
    raise AssertionError(f"the README has no python block starting with {first_line!r}")


def merged_lists(snippet: str, names: tuple[str, ...]) -> tuple[str, str]:
    """``snippet`` with its lists ``names`` merged around the project's own entries (``# ...`` marks
    where they go), and the rest of it (plain assignments) as it is."""
    tree = ast.parse(snippet)
    lines = snippet.splitlines()
    merged, rest = [], []
    for node in tree.body:
        text = "\n".join(lines[node.lineno - 1:node.end_lineno])
        target = node.targets[0].id if isinstance(node, ast.Assign) else None
        if target in names:
            marker = next(i for i in range(node.lineno - 1, node.end_lineno) if lines[i].strip().startswith("# ..."))
            head = [ast.literal_eval(e) for e in node.value.elts if e.lineno - 1 < marker]
            tail = [ast.literal_eval(e) for e in node.value.elts if e.lineno - 1 > marker]
            merged.append(f"{target} = [*{head!r}, *{target}, *{tail!r}]")
        else:
            rest.append(text)
    return "\n".join(merged), "\n".join(rest)


def fresh_project(tmp_path: Path, *, internal_ips: bool = True) -> Path:
    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite", str(tmp_path)], check=True)
    settings = tmp_path / "mysite" / "settings.py"
    lists, rest = merged_lists(readme_block("# settings.py"), ("INSTALLED_APPS", "MIDDLEWARE"))
    if not internal_ips:
        rest = "\n".join(line for line in rest.splitlines() if not line.startswith("INTERNAL_IPS"))
    settings.write_text(settings.read_text() + "\n# From the README\n" + lists + "\n" + rest + "\n")
    urls = tmp_path / "mysite" / "urls.py"
    ours = readme_block("# urls.py").replace("urlpatterns = [", "_readme_urlpatterns = [")
    urls.write_text(urls.read_text() + "\nfrom django.urls import include  # noqa: E402\n" + ours
                    + "urlpatterns = [*_readme_urlpatterns, *urlpatterns]\n")
    (tmp_path / "mysite" / "asgi.py").write_text(readme_block("# asgi.py"))
    return tmp_path


VISIT = """
import asyncio, json

import django

django.setup()
from channels.testing import WebsocketCommunicator
from django.test import Client

from mysite.asgi import application

page = Client(HTTP_HOST="127.0.0.1:8000").get("/__lifecycle__/")  # runserver, as a browser reaches it


async def websocket():
    comm = WebsocketCommunicator(application, "/__lifecycle__/ws/",
                                 headers=[(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")])
    comm.scope["client"] = ("127.0.0.1", 50000)
    ok, code = await comm.connect()
    if not ok:
        return {"accepted": False, "code": code}
    first = await comm.receive_output()
    await comm.disconnect()
    return {"accepted": True, "first": first}


Client(HTTP_HOST="127.0.0.1:8000").get("/no/such/page/")
from lifecycle import store

print(json.dumps({"status": page.status_code, "page": page.content.decode(), "ws": asyncio.run(websocket()),
                  "recorded": [row["path"] for row in store.recent()]}))
"""


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mysite.settings", "PYTHONPATH": str(project)}
    for name in ("DATABASE_URL", "LIFECYCLE_REDIS_URL", "DJANGO_DEBUG"):
        env.pop(name, None)
    return subprocess.run([sys.executable, *args], cwd=project, env=env, capture_output=True, text=True,
                          timeout=120)


def visit(project: Path) -> dict:
    done = run(project, "-c", VISIT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def readme_project(tmp_path_factory) -> Path:
    project = fresh_project(tmp_path_factory.mktemp("readme"))
    migrated = run(project, "manage.py", "migrate", "--noinput", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    return project


def test_the_readme_project_passes_the_checks(readme_project):
    done = run(readme_project, "manage.py", "check")
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr


def test_the_readme_project_opens_the_dashboard_and_its_websocket(readme_project):
    result = visit(readme_project)
    assert result["status"] == 200 and 'id="lifecycle-config"' in result["page"]
    assert result["ws"]["accepted"] and json.loads(result["ws"]["first"]["text"])["type"] == "hello"
    assert result["recorded"] == ["/no/such/page/"]


def test_without_internal_ips_the_check_and_the_refusal_say_what_to_add(tmp_path):
    project = fresh_project(tmp_path, internal_ips=False)
    done = run(project, "manage.py", "check")
    assert "lifecycle.W007" in done.stderr + done.stdout
    assert 'INTERNAL_IPS = ["127.0.0.1", "::1"]' in done.stderr + done.stdout
    result = visit(project)
    assert result["status"] == 403
    assert "your address 127.0.0.1 is not in INTERNAL_IPS" in result["page"]
    assert "add 127.0.0.1 to INTERNAL_IPS or sign in as a staff user." in result["page"]
    assert result["ws"]["accepted"] and result["ws"]["first"] == {
        "type": "websocket.close", "code": 4403,
        "reason": "Staff or INTERNAL_IPS only: 127.0.0.1 is not in INTERNAL_IPS and you are not signed in."}
