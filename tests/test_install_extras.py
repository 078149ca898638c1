"""`pip install django-request-lifecycle` without the `[live]` extra: the recorder, the replay plugin and the
toolbar panel work, and nothing pulls in Channels, daphne or Twisted.

The environment without them is real, not mocked: a directory of links to every package of this virtualenv
except those three distributions, used as the only site-packages of a `python -S` subprocess (so
``find_spec("channels")`` is None and their metadata is absent, as after a plain install). A small project
there follows the README with the base install, and keeps the README's ``CHANNEL_LAYERS`` (copied before
the extra was chosen).
"""

from __future__ import annotations

import email.parser
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import django
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LIVE_ONLY = ("channels", "daphne", "Twisted")  # and channels_redis, which needs channels

SETTINGS = """
DEBUG = True
SECRET_KEY = "not-secret"
ALLOWED_HOSTS = ["testserver"]
INTERNAL_IPS = ["127.0.0.1"]
ROOT_URLCONF = "project.urls"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                  "django.contrib.staticfiles", "lifecycle"]
MIDDLEWARE = ["lifecycle.middleware.LifecycleMiddleware",
              "django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
STATIC_URL = "static/"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
"""

URLS = """
from django.contrib.contenttypes.models import ContentType
from django.http import HttpResponse
from django.template import engines
from django.urls import include, path


def types(request):
    names = [str(ct) for ct in ContentType.objects.all()]
    return HttpResponse(engines["django"].from_string("{{ names|join:', ' }}").render({"names": names}))


urlpatterns = [path("__lifecycle__/", include("lifecycle.urls")), path("types/", types)]
"""

# Run in the environment without the live pieces; prints one JSON line of what a user would see.
DRIVE = """
import importlib.util, json, logging

import django

missing = [name for name in ("channels", "daphne", "twisted") if importlib.util.find_spec(name) is None]
warnings = []


class Keep(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage())


logging.getLogger("lifecycle").addHandler(Keep(logging.WARNING))
django.setup()

import lifecycle.middleware, lifecycle.panels, lifecycle.pytest_plugin, lifecycle.replay, lifecycle.urls  # noqa
import lifecycle.views  # noqa
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

import lifecycle.routing
from lifecycle import safety, store
from lifecycle.publish import get_publisher

call_command("migrate", verbosity=0)
client = Client()
statuses = [client.get("/types/").status_code for _ in range(3)]
trace = store.get(store.recent(1)[0]["id"])
page = client.get("/__lifecycle__/")
listed = client.get("/__lifecycle__/api/traces/").json()["traces"]
try:
    call_command("check", verbosity=0)
    check = ""
except SystemCheckError as exc:
    check = str(exc)
try:
    lifecycle.routing.websocket_urlpatterns
    websocket = "built"
except ImportError as exc:
    websocket = f"{type(exc).__name__}: {exc}"
print(json.dumps({
    "missing": missing, "statuses": statuses, "path": trace.request["path"],
    "kinds": sorted({span.kind for span in trace.spans}), "page": page.status_code,
    "page_has_ws_path": lifecycle.routing.WS_PATH in page.content.decode(), "listed": [row["path"] for row in listed],
    "check": check, "websocket": websocket, "published": get_publisher().stats(),
    "failures": safety.failures, "warnings": warnings,
}))
"""

REPLAY_TESTS = """
from pathlib import Path

import pytest

TRACE = Path(__file__).with_name("types.json")


@pytest.mark.django_db
def test_1_records(lifecycle_replay):
    assert lifecycle_replay(str(TRACE), url="/types/").written


@pytest.mark.django_db
def test_2_replays_and_compares(lifecycle_replay):
    assert lifecycle_replay(str(TRACE), url="/types/").comparison.ok
"""


def _live_only_entries() -> set[str]:
    """The top-level entries (packages, dist-info directories) the live distributions installed."""
    entries = set()
    for name in LIVE_ONLY:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        entries.update(f.parts[0] for f in files if f.parts and f.parts[0] != "..")
    return entries


@pytest.fixture(scope="module")
def without_live(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A project directory and the environment that runs Python there without the live pieces."""
    base = tmp_path_factory.mktemp("without-live")
    site = base / "site-packages"
    site.mkdir()
    excluded = _live_only_entries()
    for directory in dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]):
        for entry in Path(directory).iterdir():
            if entry.name not in excluded and entry.suffix != ".pth" and not (site / entry.name).exists():
                (site / entry.name).symlink_to(entry)
    project = base / "project"
    (project / "project").mkdir(parents=True)
    (project / "project" / "__init__.py").write_text("")
    (project / "project" / "settings.py").write_text(SETTINGS)
    (project / "project" / "urls.py").write_text(URLS)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "PYTEST_", "LIFECYCLE_")) and key not in ("CI", "DATABASE_URL")}
    env.update(PYTHONPATH=os.pathsep.join([str(project), str(ROOT), str(site)]),
               DJANGO_SETTINGS_MODULE="project.settings", PYTHONDONTWRITEBYTECODE="1")
    return project, env


def test_the_recorder_the_dashboard_page_and_check_work_without_channels(without_live):
    project, env = without_live
    result = subprocess.run([sys.executable, "-S", "-c", DRIVE], cwd=project, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["missing"] == ["channels", "daphne", "twisted"]  # the environment really lacks them
    assert seen["statuses"] == [200, 200, 200]
    assert seen["path"] == "/types/"
    assert {"request", "middleware", "view", "sql", "template"} <= set(seen["kinds"])
    # The dashboard page renders, and its backlog over HTTP lists the site's requests (not its own).
    assert seen["page"] == 200 and seen["page_has_ws_path"]
    assert seen["listed"] == ["/types/"] * 3
    assert "lifecycle.E004" in seen["check"]
    assert "channels" in seen["websocket"]  # asgi.py's route needs the extra, and says which module is missing
    # Nothing published, nothing failed per request; the one warning (CHANNEL_LAYERS is set) names the extra.
    assert seen["published"]["published"] == seen["published"]["failed"] == 0
    assert seen["failures"] == {}
    assert len(seen["warnings"]) == 1 and "[live]" in seen["warnings"][0], seen["warnings"]


def test_the_replay_plugin_records_and_replays_without_channels(without_live):
    project, env = without_live
    tests = project / "test_types.py"
    tests.write_text(REPLAY_TESTS)
    (project / "pytest.ini").write_text("[pytest]\nDJANGO_SETTINGS_MODULE = project.settings\n")
    result = subprocess.run(
        [sys.executable, "-S", "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         "-p", "no:xdist", "--lifecycle-record=once", str(tests)],
        cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert (project / "types.json").exists()


def _requirements(meta) -> dict[str | None, list[Requirement]]:
    """Requires-Dist by extra (None: the base install)."""
    by_extra: dict[str | None, list[Requirement]] = {}
    for line in meta.get_all("Requires-Dist"):
        requirement = Requirement(line)
        extra = None
        if requirement.marker is not None:
            extra = next(e for e in meta.get_all("Provides-Extra") if requirement.marker.evaluate({"extra": e}))
        by_extra.setdefault(extra, []).append(requirement)
    return by_extra


@pytest.fixture(scope="module")
def wheel_metadata(tmp_path_factory):
    """The METADATA of a wheel built from this checkout, as pip would install it."""
    out = tmp_path_factory.mktemp("wheel")
    # A copy of what the wheel is built from, so that the build leaves nothing in the working tree.
    source = out / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (source / name).write_bytes((ROOT / name).read_bytes())
    (source / "lifecycle").symlink_to(ROOT / "lifecycle")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out / "dist"),
                             str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (out / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_the_base_install_has_no_live_server_pieces(wheel_metadata):
    by_extra = _requirements(wheel_metadata)
    base = {r.name.lower() for r in by_extra[None]}
    assert base == {"django", "orjson"}
    live = {r.name.lower() for r in by_extra["live"]}
    assert live == {"channels", "daphne"}
    # `make demo` and `make test` install these: they must bring the live dashboard along.
    for extra in ("demo", "dev", "redis"):
        names = {(r.name.lower(), tuple(sorted(r.extras))) for r in by_extra[extra]}
        assert ("django-request-lifecycle", ("live",)) in names or ("django-request-lifecycle", ("redis",)) in names
    assert "channels-redis" in {r.name.lower().replace("_", "-") for r in by_extra["redis"]}


def test_this_python_and_django_are_advertised_and_allowed(wheel_metadata):
    # Each virtualenv of the test matrix runs this: what it tests is what the package claims.
    classifiers = wheel_metadata.get_all("Classifier")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"Programming Language :: Python :: {python}" in classifiers
    assert f"Framework :: Django :: {django.VERSION[0]}.{django.VERSION[1]}" in classifiers
    (django_requirement,) = [r for r in _requirements(wheel_metadata)[None] if r.name.lower() == "django"]
    assert django_requirement.specifier.contains(django.__version__)
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(wheel_metadata["Requires-Python"]).contains(python)
