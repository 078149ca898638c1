"""The dashboard page and the JSON endpoints: one access rule for all, downloads, and nothing recorded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.urls import reverse

from lifecycle import store
from lifecycle.access import AccessContext
from lifecycle.live.publisher import get_publisher

INTERNAL = "127.0.0.1"
OUTSIDE = "203.0.113.9"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug_on(settings) -> Iterator[None]:
    settings.DEBUG = True  # the test runner turns it off; the default access rule needs it
    store.clear()
    yield
    store.clear()


def endpoints() -> list[str]:
    store.clear()
    Client(REMOTE_ADDR=INTERNAL).get("/t/queries/2/")
    trace_id = store.recent()[0]["id"]
    return [reverse("lifecycle:dashboard"), reverse("lifecycle:api-traces"),
            reverse("lifecycle:api-trace", args=[trace_id]),
            reverse("lifecycle:api-trace", args=[trace_id]) + "?download=1"]


def staff_client(addr: str = OUTSIDE, *, is_staff: bool = True) -> Client:
    user = get_user_model().objects.create_user("someone", password="x", is_staff=is_staff)
    client = Client(REMOTE_ADDR=addr)
    client.force_login(user)
    return client


def test_the_dashboard_reverses_to_the_include_prefix():
    assert reverse("lifecycle:dashboard") == "/__lifecycle__/"
    assert reverse("lifecycle:api-traces") == "/__lifecycle__/api/traces/"
    assert reverse("lifecycle:api-trace", args=["abc"]) == "/__lifecycle__/api/traces/abc/"


def test_internal_ip_allowed_everywhere():
    client = Client(REMOTE_ADDR=INTERNAL)
    for url in endpoints():
        assert client.get(url).status_code == 200, url


def test_staff_user_allowed_from_anywhere():
    client = staff_client()
    for url in endpoints():
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["anonymous", "non-staff"])
def test_outsiders_refused_without_seeing_data(who):
    client = Client(REMOTE_ADDR=OUTSIDE) if who == "anonymous" else staff_client(is_staff=False)
    for url in endpoints():
        response = client.get(url)
        assert response.status_code == 403, url
        body = response.content.decode()
        assert "/t/queries" not in body and store.recent()[0]["id"] not in body


def test_debug_off_the_dashboard_is_not_there(settings):
    """ENABLED None follows DEBUG: with DEBUG off every endpoint is the site's own 404, even for internal
    staff, and says nothing of lifecycle (nor does a POST learn more: 404, not 405)."""
    urls = endpoints()
    settings.DEBUG = False
    client = staff_client(INTERNAL)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, url
        assert "lifecycle" not in response.content.decode().lower(), url
        assert client.post(url).status_code == 404, url


def test_enabled_false_the_dashboard_is_not_there():
    urls = endpoints()
    with override_settings(LIFECYCLE={"ENABLED": False}):
        for url in urls:
            assert Client(REMOTE_ADDR=INTERNAL).get(url).status_code == 404, url


def test_enabled_true_with_debug_off_refuses_with_the_reason(settings):
    urls = endpoints()
    settings.DEBUG = False
    settings.LIFECYCLE = {"ENABLED": True}
    client = staff_client(INTERNAL)
    page, api = client.get(urls[0]), client.get(urls[1])
    assert (page.status_code, api.status_code) == (403, 403)
    error = api.json()["error"]
    assert "needs DEBUG on" in error and "LIFECYCLE['ACCESS_CALLBACK']" in error
    assert "needs DEBUG on" in page.content.decode()


def test_refusals_are_json_on_the_api_and_html_on_the_page():
    client = Client(REMOTE_ADDR=OUTSIDE)
    urls = endpoints()
    assert client.get(urls[1]).json() == {"error": (
        "The lifecycle dashboard is shown to active staff users and to addresses in INTERNAL_IPS; your address "
        "203.0.113.9 is not in INTERNAL_IPS and you are not signed in: add 203.0.113.9 to INTERNAL_IPS or "
        "sign in as a staff user.")}
    page = client.get(urls[0])
    assert page["Content-Type"].startswith("text/html")
    assert "your address 203.0.113.9 is not in INTERNAL_IPS and you are not signed in" in page.content.decode()


ALLOW_INACTIVE = "django.contrib.auth.backends.AllowAllUsersModelBackend"


@override_settings(AUTHENTICATION_BACKENDS=[ALLOW_INACTIVE])
@pytest.mark.parametrize(("who", "says"), [
    ("anonymous", "you are not signed in: add 203.0.113.9 to INTERNAL_IPS or sign in as a staff user."),
    ("non-staff", "your account is not staff: add 203.0.113.9 to INTERNAL_IPS or sign in as a staff user."),
    ("inactive staff", "your staff account is inactive"),
])
def test_each_refusal_of_the_default_rule_says_why(who, says):
    if who == "anonymous":
        client = Client(REMOTE_ADDR=OUTSIDE)
    else:
        client = staff_client(is_staff=who != "non-staff")
        if who == "inactive staff":  # a backend that loads inactive users, so the view sees one
            get_user_model().objects.update(is_active=False)
            client.force_login(get_user_model().objects.get(), backend=ALLOW_INACTIVE)
    for url in endpoints():
        response = client.get(url)
        assert response.status_code == 403, url
        body = response.json()["error"] if "/api/" in url else response.content.decode()
        assert says in body, (url, body)
        assert "/t/queries" not in body and store.recent()[0]["id"] not in body


@override_settings(LIFECYCLE={"ACCESS_CALLBACK": "tests.test_views.only_header"})
def test_a_refusal_of_a_custom_callback_names_it():
    urls = endpoints()
    response = Client(REMOTE_ADDR=INTERNAL).get(urls[1])
    assert response.status_code == 403
    assert response.json() == {
        "error": "LIFECYCLE['ACCESS_CALLBACK'] (tests.test_views.only_header) refused this request."}


@override_settings(LIFECYCLE={"ACCESS_CALLBACK": "tests.test_views.only_header"})
def test_the_configured_callback_decides():
    urls = endpoints()
    assert Client(REMOTE_ADDR=INTERNAL).get(urls[1]).status_code == 403
    assert Client(REMOTE_ADDR=OUTSIDE, HTTP_X_LET_ME_IN="yes").get(urls[1]).status_code == 200


def only_header(viewer: AccessContext) -> bool:
    assert not viewer.is_websocket and viewer.path.startswith("/__lifecycle__/")
    return viewer.headers.get("x-let-me-in") == "yes"


@override_settings(LIFECYCLE={"ACCESS_CALLBACK": "tests.test_views.no_such_function"})
def test_a_misconfigured_callback_says_so():
    with pytest.raises(ImproperlyConfigured, match=r'ACCESS_CALLBACK.*tests\.test_views\.no_such_function'):
        Client(REMOTE_ADDR=INTERNAL).get("/__lifecycle__/api/traces/")


def test_recent_traces_list():
    client = Client(REMOTE_ADDR=INTERNAL)
    client.get("/t/queries/1/")
    client.get("/t/queries/3/")
    data = client.get("/__lifecycle__/api/traces/").json()
    assert [row["path"] for row in data["traces"]] == ["/t/queries/3/", "/t/queries/1/"]
    assert data["traces"][0]["queries"] == 3 and data["traces"][0]["status"] == 200
    assert data["dropped_events"] == get_publisher().dropped_events
    assert {"published", "dropped", "undeliverable", "failed"} <= set(data["publisher"])
    limited = client.get("/__lifecycle__/api/traces/?limit=1").json()
    assert [row["path"] for row in limited["traces"]] == ["/t/queries/3/"]
    assert client.get("/__lifecycle__/api/traces/?limit=x").status_code == 400


def test_one_trace_and_its_download():
    client = Client(REMOTE_ADDR=INTERNAL)
    client.get("/t/tagged/dl/")
    trace_id = store.recent()[0]["id"]
    response = client.get(f"/__lifecycle__/api/traces/{trace_id}/")
    assert response["Content-Type"] == "application/json"
    assert "Content-Disposition" not in response
    trace = response.json()
    assert trace["format"] == "lifecycle-trace" and trace["id"] == trace_id
    assert trace["summary"]["queries"] == 2
    download = client.get(f"/__lifecycle__/api/traces/{trace_id}/?download=1")
    assert download.content == response.content
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment;")
    filename = re.search(r'filename="([^"]+)"', disposition).group(1)
    assert re.fullmatch(rf"trace-\d{{8}}-\d{{6}}-GET-t-tagged-dl-{trace_id}\.json", filename), filename


def test_unknown_trace_is_404():
    response = Client(REMOTE_ADDR=INTERNAL).get("/__lifecycle__/api/traces/0123456789abcdef/")
    assert response.status_code == 404
    assert "0123456789abcdef" in response.json()["error"]


def test_dashboard_page_carries_its_config():
    response = Client(REMOTE_ADDR=INTERNAL).get("/__lifecycle__/")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    match = re.search(r'<script id="lifecycle-config" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match, "the page must render its config with json_script"
    config = json.loads(match.group(1))
    # The token the page sends as X-CSRFToken with its POST requests (api/traces/clear/).
    assert re.fullmatch(r"[A-Za-z0-9]{64}", config.pop("csrfToken"))
    assert config == {"wsUrl": "/__lifecycle__/ws/", "apiBase": "/__lifecycle__/api/",
                      "version": 1, "maxTraceBytes": 50_000_000, "maxSpans": 50_000,
                      "maxDepth": 256, "live": True, "channels": True}


def test_the_dashboards_own_requests_are_not_recorded():
    client = Client(REMOTE_ADDR=INTERNAL)
    client.get("/t/queries/1/")
    before = [row["id"] for row in store.recent()]
    client.get("/__lifecycle__/")
    client.get("/__lifecycle__/api/traces/")
    client.get(f"/__lifecycle__/api/traces/{before[0]}/?download=1")
    client.get("/__lifecycle__/api/traces/nope/")
    assert [row["id"] for row in store.recent()] == before


def test_only_safe_methods():
    assert Client(REMOTE_ADDR=INTERNAL).post("/__lifecycle__/api/traces/").status_code == 405
