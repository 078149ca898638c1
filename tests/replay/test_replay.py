"""Replays inside this test project (tests.settings: the demo site plus tests/testapp)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client, override_settings

import lifecycle
from lifecycle import recorder, replay, store
from lifecycle.replay import MalformedTrace, ReplayError, TraceMismatch, record_mode, replay_trace
from lifecycle.replay import options as replay_options
from lifecycle.trace import Trace, TraceFormatError

from ..conftest import last_trace


def dashboard_download(client: Client, url: str, tmp_path: Path, **kwargs) -> Path:
    """Request ``url`` through the middleware and save the trace as the dashboard's download does."""
    client.get(url, **kwargs)
    data = store.get_json(store.recent(1)[0]["id"])
    path = tmp_path / "download.json"
    path.write_bytes(data)
    return path


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


# -- where traces come from ----------------------------------------------------------------------------


def test_a_dashboard_download_replays_as_it_is(lifecycle_replay, seeded, client, tmp_path):
    path = dashboard_download(client, "/books/fixed/?page=1", tmp_path)
    result = lifecycle_replay(path)
    assert result.comparison.ok and result.written is None
    assert result.trace.request["query"] == "page=1"
    assert result.response.status_code == 200


def test_first_run_records_the_given_request(lifecycle_replay, seeded, tmp_path):
    path = tmp_path / "sub" / "api.json"
    result = lifecycle_replay(path, url="/api/books/?limit=2")
    assert result.written == path and result.comparison is None
    recorded = Trace.load(path)
    assert (recorded.request["path"], recorded.request["query"]) == ("/api/books/", "limit=2")
    assert recorded.resolver["url_name"] == "api-books" and recorded.summary["queries"] == 1
    assert lifecycle_replay(path).response.json()["count"] == 2


def test_a_missing_file_without_a_request_says_how_to_record_it(lifecycle_replay, db, tmp_path):
    with pytest.raises(
        ReplayError,
        match=r"no such trace file to replay. To record it on this run, pass the "
        r"request: url='/path/\?query'",
    ):
        lifecycle_replay(tmp_path / "nothing.json")


def test_a_block_trace_is_not_a_request(lifecycle_replay, seeded, client, tmp_path):
    path = tmp_path / "block.json"
    with lifecycle.record(path):
        client.get("/books/fixed/")
    with pytest.raises(
        ReplayError,
        match="field 'request': expected the method and path of a request, got none; "
        "a trace recorded with lifecycle.record",
    ):
        lifecycle_replay(path)


def test_malformed_files_raise_a_trace_format_error_naming_file_and_field(lifecycle_replay, seeded, tmp_path):
    path = tmp_path / "t.json"
    lifecycle_replay(path, url="/books/fixed/")
    edit(path, lambda d: d["spans"][3].update(start_ns="soon"))
    with pytest.raises(MalformedTrace) as info:
        lifecycle_replay(path)
    assert str(info.value).startswith(f"{path}: field 'spans[3].start_ns': expected an integer >= 0, got \"soon\"\n")
    assert isinstance(info.value, TraceFormatError) and isinstance(info.value, AssertionError)
    with pytest.raises(MalformedTrace, match="field 'format': expected \"lifecycle-trace\", got nothing \\(missing\\)"):
        edit(path, lambda d: d.pop("format"))
        with lifecycle.record(path):
            pass


# -- what is sent --------------------------------------------------------------------------------------


def test_the_recorded_user_is_logged_in(lifecycle_replay, db, tmp_path):
    user = get_user_model().objects.create_user("alice", password="pw", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    path = dashboard_download(client, "/admin/", tmp_path)
    assert Trace.load(path).request["user"] == {"id": user.pk, "username": "alice"}

    result = lifecycle_replay(path, client=Client())  # a fresh client: logged in from the trace
    assert result.response.status_code == 200
    assert result.trace.request["user"] == {"id": user.pk, "username": "alice"}

    with pytest.raises(
        TraceMismatch, match=r"status: another response status\n  recorded: 200\n  now:      302"
    ):
        lifecycle_replay(path, user=None)


def test_a_recorded_user_missing_from_the_test_database_is_a_clear_error(lifecycle_replay, db, tmp_path):
    path = tmp_path / "admin.json"
    lifecycle_replay(
        path, url="/admin/", record_mode="all", user=get_user_model().objects.create_superuser("bob")
    )
    get_user_model().objects.all().delete()
    with pytest.raises(ReplayError) as info:
        lifecycle_replay(path)
    assert str(info.value).startswith(
        f"{path}: field 'request.user': the request was made by user 'bob' (id "
    )
    assert "create_user(username='bob')" in str(info.value) and "user=None to replay anonymously" in str(
        info.value
    )


def test_a_redacted_form_body_is_replayed_as_recorded_and_noted(lifecycle_replay, db, client, tmp_path):
    client.generic(
        "POST",
        "/account/login/",
        "username=carol&password=s3cret",
        content_type="application/x-www-form-urlencoded",
    )
    path = tmp_path / "login.json"
    path.write_bytes(store.get_json(store.recent(1)[0]["id"]))
    assert Trace.load(path).request["body"] == "username=carol&password=********"
    result = lifecycle_replay(path)
    assert b"carol" in result.response.content  # the form was valid: the view saw the body
    assert ("the recorded body has redacted fields (password), replayed as '********': "
            "pass data={'password': ...}") in " ".join(result.notes)


def test_request_options_replace_the_recorded_request(lifecycle_replay, seeded, tmp_path):
    path = tmp_path / "api.json"
    lifecycle_replay(path, url="/api/books/?limit=2")
    result = lifecycle_replay(path, url="/api/books/?limit=3", headers={"Accept": "application/json"})
    assert result.response.json()["count"] == 3
    assert result.trace.request["headers"]["Accept"] == "application/json"


def test_a_recorded_server_error_replays_as_a_500(lifecycle_replay, seeded, tmp_path):
    path = dashboard_download(Client(raise_request_exception=False), "/error/", tmp_path)
    assert Trace.load(path).status == 500
    result = lifecycle_replay(path)  # the fixture's client re-raises exceptions; not for this replay
    assert result.response.status_code == 500
    assert result.trace.summary["error"].startswith("ValueError: Deliberate error")


def test_streaming_and_async_views_replay(lifecycle_replay, seeded, tmp_path):
    for url in ("/stream/", "/async/", "/t/async/"):
        path = tmp_path / (url.strip("/").replace("/", "_") + ".json")
        lifecycle_replay(path, url=url)
        result = lifecycle_replay(path)
        assert result.trace.summary["queries"] >= 1, url
    stream = Trace.load(tmp_path / "stream.json")
    # The query that runs while the body streams belongs to the trace.
    assert any('"shop_book"' in s.attrs["sql"] for s in stream.spans_of("sql"))


# -- checks and options ----------------------------------------------------------------------------------


def test_checks_can_be_switched_per_call_and_in_settings(lifecycle_replay, db, tmp_path):
    path = tmp_path / "q.json"
    lifecycle_replay(path, url="/t/queries/1/")
    edit(path, lambda d: d["request"].update(path="/t/queries/3/"))  # the replay runs two queries more
    with pytest.raises(TraceMismatch, match=r"2 checks failed \(more_queries, duplicates\)") as info:
        lifecycle_replay(path)
    assert "more_queries: 1 query fingerprint ran more often than recorded (1 query recorded, 3 now)" in str(
        info.value
    )
    lifecycle_replay(path, more_queries=False, checks={"duplicates": False})
    with override_settings(LIFECYCLE={"REPLAY_CHECKS": {"more_queries": False, "duplicates": False}}):
        lifecycle_replay(path)
        with pytest.raises(TraceMismatch, match=r"1 check failed \(query_count\)"):
            lifecycle_replay(path, query_count=True)
    with pytest.raises(TraceMismatch, match="query_count: 3 queries, the recording ran 1"):
        lifecycle_replay(path, checks={"query_count": True, "more_queries": False, "duplicates": False})


def test_timing_check_with_tolerance_and_budget(lifecycle_replay, db, tmp_path, monkeypatch):
    path = tmp_path / "t.json"
    lifecycle_replay(path, url="/t/queries/1/")
    # The recorder's clock advances 1 ms at each reading: a replay's duration counts readings, so the
    # outcomes below do not depend on how fast or busy the machine is.
    readings = itertools.count(1)
    monkeypatch.setattr(recorder, "perf_counter_ns", lambda: next(readings) * 10**6)
    took = lifecycle_replay(path).trace.duration_ns  # timing is off by default
    assert took >= 10**6
    edit(path, lambda d: d.update(duration_ns=took))  # recorded as taking what a replay takes
    lifecycle_replay(path, timing=True)  # within the recorded time x 2 + 10 ms slack
    lifecycle_replay(path, timing=True, time_budget_ms=2 * took / 1e6)
    edit(path, lambda d: d.update(duration_ns=1000))  # recorded as taking 1 µs
    lifecycle_replay(path)  # timing is off by default
    with pytest.raises(
        TraceMismatch,
        match=r"timing: took [\d.]+ ms, allowed 0.0 ms\n"
        r"  recorded 0.0 ms, tolerance \+0% plus 0 ms slack",
    ):
        lifecycle_replay(path, timing=True, time_tolerance=0, time_slack_ms=0)
    with pytest.raises(TraceMismatch, match=r"timing: took [\d.]+ ms, over the budget of 0.0001 ms"):
        lifecycle_replay(path, time_budget_ms=0.0001)  # a budget turns the check on
    lifecycle_replay(path, time_budget_ms=0.0001, timing=False)


def test_wrong_options_fail_before_anything_runs(lifecycle_replay, db, tmp_path):
    with pytest.raises(TypeError, match="unexpected option 'tempaltes'; the options are url, method"):
        lifecycle_replay(tmp_path / "x.json", url="/t/queries/1/", tempaltes=False)
    with pytest.raises(ReplayError, match="checks: unknown check 'sql'; the checks are view, status"):
        lifecycle_replay(tmp_path / "x.json", url="/t/queries/1/", checks={"sql": False})
    with override_settings(LIFECYCLE={"REPLAY_CHECKS": {"speed": True}}):
        with pytest.raises(ReplayError, match=r"LIFECYCLE\['REPLAY_CHECKS'\]: unknown check 'speed'"):
            lifecycle_replay(tmp_path / "x.json", url="/t/queries/1/")
    with pytest.raises(TypeError, match="unexpected option 'url'"):
        lifecycle.record(tmp_path / "x.json", url="/")
    assert not (tmp_path / "x.json").exists()


def test_record_mode_precedence(monkeypatch, settings):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(replay_options, "cli_mode", None)
    assert record_mode() == "once"
    monkeypatch.setenv("CI", "true")
    assert record_mode() == "none"
    settings.LIFECYCLE = {"REPLAY_RECORD_MODE": "all"}
    assert record_mode() == "all"
    assert record_mode("once") == "once"
    monkeypatch.setattr(replay_options, "cli_mode", "overwrite")
    assert record_mode("none") == "all"  # the command line wins: re-record everything
    monkeypatch.setattr(replay_options, "cli_mode", None)
    settings.LIFECYCLE = {"REPLAY_RECORD_MODE": "sometimes"}
    with pytest.raises(
        ReplayError,
        match=r"LIFECYCLE\['REPLAY_RECORD_MODE'\]: expected one of once, none, all, "
        "got 'sometimes'",
    ):
        record_mode()


def test_actual_file_location(lifecycle_replay, db, tmp_path):
    path = tmp_path / "q.json"
    lifecycle_replay(path, url="/t/queries/1/")
    edit(path, lambda d: d["request"].update(path="/t/queries/4/"))
    with pytest.raises(TraceMismatch, match=f"Actual trace written to {tmp_path}/q.actual.json"):
        lifecycle_replay(path)
    elsewhere = tmp_path / "actual"
    with override_settings(LIFECYCLE={"REPLAY_ACTUAL_DIR": str(elsewhere)}):
        with pytest.raises(TraceMismatch) as info:
            lifecycle_replay(path)
    assert info.value.result.written == elsewhere / "q.actual.json"
    assert Trace.load(elsewhere / "q.actual.json").summary["queries"] == 4
    assert info.value.comparison.actual.total_queries == 4


def test_all_mode_rewrites_with_the_recorded_request(lifecycle_replay, db, tmp_path):
    path = tmp_path / "q.json"
    lifecycle_replay(path, url="/t/queries/1/")
    edit(path, lambda d: d["request"].update(path="/t/queries/2/"))
    result = lifecycle_replay(path, record_mode="all")
    assert result.written == path and Trace.load(path).summary["queries"] == 2


# -- blocks ----------------------------------------------------------------------------------------------


def test_a_block_compares_each_request(seeded, client, tmp_path):
    path = tmp_path / "block.json"
    with lifecycle.record(path, label="browse") as block:
        client.get("/books/fixed/")
        client.get("/no-such-page/")
    trace = block.result.trace
    assert trace.spans[0].kind == "block" and trace.request["block"] == "browse"
    assert [s.attrs["status"] for s in trace.spans if s.kind == "request" and s.parent_id is not None] == [
        200,
        404,
    ]
    assert trace.resolver is None

    with pytest.raises(TraceMismatch) as info:
        with lifecycle.record(path):
            client.get("/books/fixed/")
            client.get("/api/books/?limit=1")
    message = str(info.value)
    assert "(block 'block', 2 requests)" in message
    assert (
        "  recorded: demo_site.shop.views.book_list_fixed (book-list-fixed); - (<Resolver404>)\n"
        "  now:      demo_site.shop.views.book_list_fixed (book-list-fixed); demo_site.shop.views.api_books "
        "(api-books)"
    ) in message
    assert (
        "  recorded: GET /books/fixed/ -> 200; GET /no-such-page/ -> 404\n"
        "  now:      GET /books/fixed/ -> 200; GET /api/books/ -> 200"
    ) in message


def test_a_failing_block_is_neither_compared_nor_written(db, tmp_path):
    path = tmp_path / "block.json"
    with pytest.raises(ZeroDivisionError):
        with lifecycle.record(path):
            raise ZeroDivisionError
    assert not path.exists()


def test_a_block_captures_requests_the_middleware_would_record_apart(seeded, client, tmp_path):
    with lifecycle.record(tmp_path / "block.json"):
        client.get("/books/fixed/")
    assert store.size() == 0  # the middleware stepped aside: the request is in the block's trace


def test_async_block_with_the_async_client(tmp_path, db):
    # async_to_sync runs the ORM's sync_to_async calls on this thread, in the test's transaction.
    async def browse():
        async with lifecycle.record(tmp_path / "async.json") as block:
            response = await AsyncClient().get("/t/async-tagged/x/")
        return block, response

    block, response = async_to_sync(browse)()
    assert response.status_code == 200
    requests = [s for s in block.result.trace.spans if s.kind == "request" and s.parent_id is not None]
    assert [(r.name, r.attrs["status"]) for r in requests] == [("GET /t/async-tagged/x/", 200)]
    assert block.result.trace.summary["queries"] == 2


def test_record_decorates_async_functions(tmp_path, db):
    @lifecycle.record(tmp_path / "decorated.json")
    async def browse():
        return await AsyncClient().get("/t/async-tagged/y/")

    assert async_to_sync(browse)().status_code == 200
    trace = Trace.load(tmp_path / "decorated.json")
    assert trace.request["block"].endswith("browse") and trace.summary["queries"] == 2
    assert async_to_sync(browse)().status_code == 200  # replayed and compared


def test_the_lazy_exports():
    assert lifecycle.record is replay.record and lifecycle.replay_trace is replay_trace
    assert issubclass(lifecycle.TraceMismatch, AssertionError)
    with pytest.raises(AttributeError):
        lifecycle.nothing  # noqa: B018


def test_replay_trace_without_pytest_fixture_and_mixin(seeded, tmp_path):
    path = tmp_path / "a.json"
    replay_trace(path, url="/books/fixed/")
    assert replay_trace(path).comparison.ok

    class Case(replay.ReplayTestMixin):
        client = Client()

    assert Case().assertTraceReplays(path).comparison.ok


def test_last_trace_helper_still_sees_middleware_traces(client, seeded):
    client.get("/books/fixed/")
    assert last_trace().resolver["url_name"] == "book-list-fixed"


# -- lifecycle_maketest ------------------------------------------------------------------------------------


def test_maketest_refuses_to_overwrite_and_reports_bad_traces(tmp_path, db):
    from django.core.management import CommandError, call_command

    trace = Path(__file__).parent.parent / "traces" / "book_list.json"
    out = tmp_path / "test_x.py"
    call_command("lifecycle_maketest", str(trace), "-o", str(out), verbosity=0)
    first = out.read_text()
    assert "Recorded: status 200, 21 queries (1 N+1 group), 3 templates." in first
    assert "def test_replay_book_list(lifecycle_replay, page_data):" in first
    compile(first, str(out), "exec")
    with pytest.raises(CommandError, match=f"{out} exists; pass --force to overwrite it"):
        call_command("lifecycle_maketest", str(trace), "-o", str(out))
    call_command("lifecycle_maketest", str(trace), "-o", str(out), "--force", verbosity=0)

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(trace.read_text()), "spans": "none"}))
    with pytest.raises(CommandError, match=f"{bad}: field 'spans': expected an array, got \"none\""):
        call_command("lifecycle_maketest", str(bad), "-o", str(tmp_path / "test_bad.py"))
    assert not (tmp_path / "test_bad.py").exists()


def test_maketest_for_a_logged_in_trace_creates_the_user(tmp_path, db):
    from django.core.management import call_command

    trace = tmp_path / "admin.json"
    user = get_user_model().objects.create_superuser("dora")
    replay_trace(trace, url="/admin/?q=1", user=user)
    out = tmp_path / "test_admin.py"
    call_command("lifecycle_maketest", str(trace), "-o", str(out), verbosity=0)
    text = out.read_text()
    assert "def test_replay_admin(lifecycle_replay, django_user_model, page_data):" in text
    assert "django_user_model.objects.create_user(username='dora')" in text
    assert "Replay of GET /admin/?q=1 (url name 'index')" in text


def test_settings_of_the_wrong_type_are_reported(lifecycle_replay, db, tmp_path):
    for value, message in [
        ({"REPLAY_CHECKS": ["timing"]}, r"LIFECYCLE\['REPLAY_CHECKS'\]: expected a dict of check names"),
        ({"REPLAY_IGNORE_SQL": "SAVEPOINT ("}, r"REPLAY_IGNORE_SQL.\]: invalid regular expression"),
        ({"REPLAY_TIME_TOLERANCE": "lots"}, "time_tolerance: expected a non-negative number, got 'lots'"),
    ]:
        with override_settings(LIFECYCLE=value), pytest.raises(ReplayError, match=message):
            lifecycle_replay(tmp_path / "x.json", url="/t/queries/1/")
    with pytest.raises(ReplayError, match="replay_trace needs a django.test.Client"):
        lifecycle_replay(tmp_path / "x.json", url="/t/queries/1/", client=AsyncClient())


def test_a_request_field_of_the_wrong_type_is_named(lifecycle_replay, db, tmp_path):
    path = tmp_path / "q.json"
    lifecycle_replay(path, url="/t/queries/1/")
    edit(path, lambda d: d["request"].update(headers=["Accept"]))
    with pytest.raises(ReplayError, match=r"q.json: field 'request.headers': expected an object, got an array of 1"):
        lifecycle_replay(path)


def test_replay_and_block_traces_match_the_schema(lifecycle_replay, seeded, client, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(lifecycle.__file__).parent / "schema" / "trace-v1.json").read_text())
    lifecycle_replay(tmp_path / "one.json", url="/books/fixed/")
    with lifecycle.record(tmp_path / "block.json"):
        client.get("/api/books/?limit=1")
        client.get("/no-such-page/")
    for name in ("one.json", "block.json"):
        jsonschema.validate(json.loads((tmp_path / name).read_text()), schema)
