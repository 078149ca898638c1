"""Redaction: names matched as words, each carrier's rules, and a planted-secret test over every output.

The planted test sends a distinct secret in every carrier a request or a response has (a URL argument,
query parameters, URL-valued and secret-named headers both ways, text and JSON bodies, an exception
message, Django's sensitive_* marks, a password-reset link) and searches every output for each: the
trace JSON, list rows, live events, the HTTP API and downloads, the debug-toolbar panel, our logs, replay
files and failure messages, and a generated test.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from pathlib import Path

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.views import PasswordResetConfirmView
from django.core.management import call_command
from django.http import HttpResponse, JsonResponse
from django.test import Client, override_settings
from django.urls import include, path, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from lifecycle import redact, store
from lifecycle.conf import REDACTED
from lifecycle.live.publisher import get_publisher
from lifecycle.replay import TraceMismatch, replay_trace
from lifecycle.replay import options as replay_options
from lifecycle.trace import Trace
from tests.test_panels import TOOLBAR
from tests.test_publish import RECORDING, RecordingLayer

# -- the policy: names as words -----------------------------------------------------------------------------

SECRET_NAMES = ["auth", "Authorization", "x-auth-token", "authToken", "password", "password2", "pwd",
                "passphrase", "private_key", "privateKey", "api-key", "X-API-KEY", "apiKey", "client_secret",
                "clientSecret", "X-Access-Token", "access_token", "sig", "signature", "X-Amz-Signature", "key",
                "code", "csrfmiddlewaretoken", "sessionid", "card_number", "code_verifier"]
PLAIN_NAMES = ["author", "authority", "authored_by", "page", "sort_key", "zip_code", "country_code", "keyboard",
               "uidb64", "title", "Access-Control-Allow-Credentials", "Sec-Fetch-Site", "bypass", "designation"]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_match_as_words(name):
    assert redact.sensitive_name(name) and redact.sensitive_header(name)


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_words_inside_other_words_do_not_match(name):
    assert not redact.sensitive_name(name) and not redact.sensitive_header(name)


def test_names_split_at_case_digits_and_separators():
    assert redact.words_of("X-Access-Token") == ("x", "access", "token")
    assert redact.words_of("APIKey") == ("api", "key")
    assert redact.words_of("client.secret[0]") == ("client", "secret", "0")


def test_user_entries_are_words_in_any_style():
    with override_settings(LIFECYCLE={"REDACT_FIELDS": ["nickName"], "REDACT_WHOLE_NAMES": []}):
        assert redact.sensitive_name("nick_name") and redact.sensitive_name("X-Nick-Name")
        assert not redact.sensitive_name("nickname_hint") and not redact.sensitive_name("password")
        assert not redact.sensitive_name("key")
    assert redact.sensitive_name("password")


# -- each carrier's rules ---------------------------------------------------------------------------------


def test_urls_lose_secret_query_values_fragments_and_userinfo():
    assert redact.url("https://u:pw@h.example/cb?code=c1&state=s&page=2#access_token=t1&expires_in=60") == (
        f"https://u:{REDACTED}@h.example/cb?code={REDACTED}&state=s&page=2#access_token={REDACTED}&expires_in=60")
    assert redact.url("https://tok123@h.example/") == f"https://{REDACTED}@h.example/"
    assert redact.url("/files/x.pdf?X-Amz-Signature=abc&X-Amz-Date=1") == (
        f"/files/x.pdf?X-Amz-Signature={REDACTED}&X-Amz-Date=1")
    assert redact.url("/plain/path/") == "/plain/path/"


def test_headers_by_name_and_url_valued_headers_by_their_url():
    meta = {"HTTP_REFERER": "https://a.example/p/?token=r1&q=ok", "HTTP_X_API_KEY": "k1",
            "HTTP_AUTHOR": "dora", "HTTP_X_DEBUG": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig-nature"}
    assert redact.headers(meta) == {"Referer": f"https://a.example/p/?token={REDACTED}&q=ok", "X-Api-Key": REDACTED,
                                    "Author": "dora", "X-Debug": REDACTED}
    assert redact.response_headers([("X-Access-Token", "t"), ("Location", "/cb#access_token=t2"),
                                    ("Link", "</next/?sig=s1>; rel=next"), ("X-Author", "a")]) == {
        "X-Access-Token": REDACTED, "Location": f"/cb#access_token={REDACTED}",
        "Link": f"</next/?sig={REDACTED}>; rel=next", "X-Author": "a"}


def test_bodies_of_every_type():
    body, _ = redact.body(b"password=p1\nauthor=dora", "text/plain")
    assert body == f"password={REDACTED}\nauthor=dora"
    body, _ = redact.body(b'{"pwd": "p2", "fields": [{"name": "password", "value": "p3"}], "author": "d"}',
                          "text/plain")
    assert json.loads(body) == {"pwd": REDACTED, "fields": [{"name": "password", "value": REDACTED}], "author": "d"}
    body, _ = redact.body(b"<login><user>d</user><password>p4</password></login>", "application/xml")
    assert body == f"<login><user>d</user><password>{REDACTED}</password></login>"
    body, _ = redact.body(b"card=4111&title=t", "application/x-www-form-urlencoded", ("card",))
    assert body == f"card={REDACTED}&title=t"
    assert redact.body(b"anything", "text/plain", "__ALL__") == (None, "sensitive_post_parameters")


def test_free_text_keeps_its_words_and_loses_its_secrets():
    message = ("GET https://x.example/?token=t1 failed: password=p1, Authorization: Bearer abcdef123 "
               "author=dora 'client_secret': 'c1'")
    shown = redact.text(message)
    for secret in ("t1", "p1", "abcdef123", "c1"):
        assert secret not in shown
    assert "author=dora" in shown and "failed" in shown


def test_a_url_argument_with_a_secret_name_is_redacted_before_resolution():
    with override_settings(ROOT_URLCONF=__name__):
        assert redact.paths.redact("/reset/MQ/abc-123/") == f"/reset/MQ/{REDACTED}/"
        assert redact.paths.redact("/planted/MQ/tok/page/") == f"/planted/MQ/{REDACTED}/page/"
        assert redact.paths.redact("/t/tagged/x/") == "/t/tagged/x/"


# -- the planted-secret test --------------------------------------------------------------------------------

PLANTED = {
    "path argument <token>": "PLANTEDpathtoken01",
    "query ?code=": "PLANTEDoauthcode02",
    "query ?sig=": "PLANTEDsasig03",
    "query ?signature=": "PLANTEDsignature04",
    "query ?access_token=": "PLANTEDaccesstoken05",
    "query JWT value": "eyJhbGciOiJIUzI1NiJ9.eyJQTEFOVEVEIjoiand0In0.PLANTEDjwt06",
    "Referer ?token=": "PLANTEDreferer07",
    "Referer userinfo": "PLANTEDuserinfo08",
    "request header X-Api-Key": "PLANTEDapikey09",
    "response header X-Access-Token": "PLANTEDresptoken10",
    "response Location #access_token=": "PLANTEDlocation11",
    "text/plain body password=": "PLANTEDtextpw12",
    "JSON pwd": "PLANTEDjsonpwd13",
    "JSON passphrase": "PLANTEDpassphrase14",
    "JSON private_key": "PLANTEDprivatekey15",
    "JSON api-key": "PLANTEDjsonapikey16",
    "JSON client_secret": "PLANTEDclientsecret17",
    "JSON {name: password, value}": "PLANTEDnamevalue18",
    "exception message URL ?token=": "PLANTEDexcurl19",
    "exception message password=": "PLANTEDexcpw20",
    "@sensitive_post_parameters field": "PLANTEDmarkedfield21",
    "@sensitive_variables local": "PLANTEDmarkedvar22",
    "response JSON body access_token": "PLANTEDrespbody23",
    "response cookie": "PLANTEDrespcookie24",
}


@csrf_exempt
@sensitive_post_parameters("nickname")
def planted_view(request, uidb64, token):
    request.POST.get("nickname")  # the view reads its marked field
    response = HttpResponse("ok", status=302)
    response["Location"] = f"https://app.example/cb#access_token={PLANTED['response Location #access_token=']}"
    response["X-Access-Token"] = PLANTED["response header X-Access-Token"]
    return response


def planted_page(request, uidb64, token):
    return HttpResponse("<html><body><p>page</p></body></html>")


@csrf_exempt
def planted_body(request):
    response = JsonResponse({"received": len(request.body),
                             "access_token": PLANTED["response JSON body access_token"]})
    response.set_cookie("sessionid", PLANTED["response cookie"])
    return response


@sensitive_variables("memo")
def _charge(memo: str) -> None:
    token, password = PLANTED["exception message URL ?token="], PLANTED["exception message password="]
    raise ValueError(f"card declined for {memo} at https://pay.example/?token={token} (password={password})")


def planted_boom(request):
    _charge(PLANTED["@sensitive_variables local"])


urlpatterns = [
    path("planted/<uidb64>/<token>/", planted_view),
    path("planted/<uidb64>/<token>/page/", planted_page),
    path("planted-body/", planted_body),
    path("planted-boom/", planted_boom),
    path("reset/<uidb64>/<token>/", PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("", include("tests.urls")),
]


def planted_url() -> str:
    q = PLANTED
    return (f"/planted/MQ/{q['path argument <token>']}/?code={q['query ?code=']}&sig={q['query ?sig=']}"
            f"&signature={q['query ?signature=']}&access_token={q['query ?access_token=']}"
            f"&next={q['query JWT value']}&page=2")


def planted_headers() -> dict[str, str]:
    return {"Referer": f"https://{PLANTED['Referer userinfo']}@elsewhere.example/from/?token="
                       f"{PLANTED['Referer ?token=']}&q=1",
            "X-Api-Key": PLANTED["request header X-Api-Key"]}


def planted_json() -> bytes:
    return orjson.dumps({
        "user": "dora", "pwd": PLANTED["JSON pwd"], "passphrase": PLANTED["JSON passphrase"],
        "nested": {"private_key": PLANTED["JSON private_key"], "api-key": PLANTED["JSON api-key"]},
        "client_secret": PLANTED["JSON client_secret"],
        "fields": [{"name": "password", "value": PLANTED["JSON {name: password, value}"]}],
    })


def send_planted(client: Client) -> list[str]:
    """Every planted request; returns the password-reset token, a secret of its own."""
    client.post(planted_url(), f"nickname={PLANTED['@sensitive_post_parameters field']}&title=hello",
                content_type="application/x-www-form-urlencoded", headers=planted_headers())
    client.post("/planted-body/", f"password={PLANTED['text/plain body password=']}", content_type="text/plain")
    client.post("/planted-body/", planted_json(), content_type="application/json")
    client.get("/planted-boom/")
    user = get_user_model().objects.create_user("resetme", "r@example.com", "old password")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    response = client.get(f"/reset/{uid}/{token}/")
    assert response.status_code == 302 and response["Location"] == f"/reset/{uid}/set-password/"
    assert client.get(response["Location"]).status_code == 200
    return [token]


def leaks(text: str, extra: list[str]) -> list[str]:
    """The carriers whose planted value is in ``text``."""
    found = [carrier for carrier, value in PLANTED.items() if value in text]
    return found + [f"password-reset token {t}" for t in extra if t in text]


@pytest.fixture
def live(settings):
    settings.CHANNEL_LAYERS = RECORDING
    publisher = get_publisher()
    publisher.reset()
    RecordingLayer.instances.clear()
    yield
    publisher.reset()


def live_events(count: int) -> list[dict]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = [e for layer in RecordingLayer.instances for e in layer.events()]
        if sum(1 for e in events if e["e"] == "trace.end") >= count:
            return events
        time.sleep(0.02)
    raise AssertionError("the live trace.end events never arrived")


def lifecycle_logs(caplog) -> str:
    records = [r for r in caplog.records if r.name.startswith("lifecycle")]
    formatter = logging.Formatter()
    return "\n".join(formatter.format(r) for r in records)


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_planted_secrets_never_leave_the_process(settings, live, caplog, tmp_path):
    settings.DEBUG = True  # the dashboard's API needs it
    caplog.set_level(logging.DEBUG)
    client = Client(raise_request_exception=False)
    extra = send_planted(client)
    traces = [store.get_json(row["id"]) for row in store.recent()]
    assert len(traces) == 6

    outputs: dict[str, str] = {}
    outputs["trace JSON"] = "\n".join(t.decode() for t in traces)
    outputs["list rows"] = orjson.dumps(store.recent()).decode()
    events = live_events(6)
    outputs["live events"] = orjson.dumps(events).decode()

    api = Client(REMOTE_ADDR="127.0.0.1")
    listing = api.get(reverse("lifecycle:api-traces"))
    assert listing.status_code == 200
    outputs["API list"] = listing.content.decode()
    for row in store.recent():
        url = reverse("lifecycle:api-trace", args=[row["id"]])
        outputs[f"API trace {row['path']}"] = api.get(url).content.decode()
        download = api.get(url + "?download=1")
        outputs[f"download {row['path']}"] = download.content.decode() + download["Content-Disposition"]

    with override_settings(**TOOLBAR):
        toolbar = Client()
        html = toolbar.get(planted_url().replace("/?", "/page/?"), headers=planted_headers()).content.decode()
        request_id = re.search(r'data-request-id="([0-9a-f]+)"', html).group(1)
        panel = toolbar.get("/__debug__/render_panel/", {"request_id": request_id, "panel_id": "LifecyclePanel"})
    outputs["debug-toolbar panel"] = panel.json()["content"] + html[html.index('id="djDebug"'):]

    # Replays: a first run records the file, a replay that differs fails with a message.
    replay_file = tmp_path / "planted.json"
    options = {"url": planted_url(), "method": "POST", "headers": planted_headers(), "record_mode": "once",
               "data": f"nickname={PLANTED['@sensitive_post_parameters field']}",
               "content_type": "application/x-www-form-urlencoded"}
    replay_trace(replay_file, Client(), **options)
    outputs["replay file"] = replay_file.read_text()
    data = json.loads(replay_file.read_text())
    data["response"]["status"] = 200
    replay_file.write_text(json.dumps(data))
    with pytest.raises(TraceMismatch) as mismatch:
        replay_trace(replay_file, Client(), **options)
    outputs["replay failure message"] = str(mismatch.value)
    outputs["replay actual file"] = Path(mismatch.value.result.written).read_text()

    boom_file = tmp_path / "boom.json"
    replay_trace(boom_file, Client(raise_request_exception=False), url="/planted-boom/", record_mode="once")
    outputs["replay file (exception)"] = boom_file.read_text()
    data = json.loads(boom_file.read_text())
    data["response"]["status"], data["summary"]["error"] = 200, None
    boom_file.write_text(json.dumps(data))
    with pytest.raises(TraceMismatch) as boom_mismatch:
        replay_trace(boom_file, Client(raise_request_exception=False), url="/planted-boom/", record_mode="once")
    assert "error now: builtins.ValueError" in str(boom_mismatch.value) or "error now: ValueError" in str(
        boom_mismatch.value)
    outputs["replay failure message (exception)"] = str(boom_mismatch.value)

    # A trace file written by hand (or by an older version) with its secrets in clear: the generated test
    # does not print them.
    raw = json.loads(replay_file.read_text())
    raw["request"]["path"] = f"/planted/MQ/{PLANTED['path argument <token>']}/"
    raw["request"]["query"] = planted_url().split("?", 1)[1]
    handmade = tmp_path / "handmade.json"
    handmade.write_text(json.dumps(raw))
    generated = tmp_path / "test_generated.py"
    stdout = io.StringIO()
    call_command("lifecycle_maketest", str(handmade), "-o", str(generated), stdout=stdout)
    outputs["generated test"] = generated.read_text() + stdout.getvalue()

    outputs["lifecycle logs"] = lifecycle_logs(caplog)
    outputs["pytest summary of written trace files"] = "\n".join(replay_options.written)

    found = {where: leaks(text, extra) for where, text in outputs.items()}
    assert {where: carriers for where, carriers in found.items() if carriers} == {}

    # Redacted, not dropped: the trace still says what was there.
    by_path = {Trace.from_json(t).request["path"]: Trace.from_json(t) for t in traces}
    planted = by_path[f"/planted/MQ/{REDACTED}/"]
    assert planted.request["headers"]["X-Api-Key"] == REDACTED
    assert planted.request["query"].startswith(f"code={REDACTED}&sig={REDACTED}&signature={REDACTED}")
    assert planted.request["query"].endswith("&page=2")
    assert planted.request["body"] == f"nickname={REDACTED}&title=hello"
    assert planted.response["headers"]["Location"] == f"https://app.example/cb#access_token={REDACTED}"
    assert planted.resolver["kwargs"] == {"uidb64": "MQ", "token": REDACTED}
    assert planted.spans[0].name == f"POST /planted/MQ/{REDACTED}/"
    assert any(p.startswith("/reset/") and p.endswith(f"/{REDACTED}/") for p in by_path)
    boom = next(t for t in by_path.values() if t.request["path"] == "/planted-boom/")
    message = boom.spans_of("exception")[0].attrs["message"]
    assert message.startswith(f"card declined for {REDACTED} at https://pay.example/?token={REDACTED}")
