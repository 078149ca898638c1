"""Django's LoginView marks its whole form sensitive (``@sensitive_post_parameters()`` without names): the
form is hidden, the password is hunted through the trace, and what the request was stays readable."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.views import LoginView
from django.test import Client
from django.urls import include, path

from lifecycle.conf import REDACTED
from lifecycle.replay import replay_trace
from tests.conftest import last_trace

PASSWORD = "PLANTEDloginpw-7741"

urlpatterns = [
    path("account/login/", LoginView.as_view(template_name="admin/login.html"), name="login"),
    path("", include("tests.urls")),
]


def log_in(client: Client):
    """As a browser posts a login form: urlencoded."""
    return client.post(
        "/account/login/?next=/account/home/",
        f"username=dora&password={PASSWORD}&next=/account/home/",
        content_type="application/x-www-form-urlencoded",
        headers={"Referer": "http://testserver/account/login/?next=/account/home/"},
    )


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_login_trace_hides_the_form_and_keeps_the_path_user_and_headers(settings, tmp_path):
    settings.DEBUG = True
    user = get_user_model().objects.create_user("dora", "dora@example.com", PASSWORD)
    response = log_in(Client())
    assert response.status_code == 302 and response["Location"] == "/account/home/"
    trace = last_trace()
    text = trace.to_json().decode()
    assert PASSWORD not in text
    # The form is hidden whole, as in Django's own error reports.
    assert trace.request["body"] == f"username={REDACTED}&password={REDACTED}&next={REDACTED}"
    # The other fields' values are not hunted through the trace: the path, the query, the Referer and
    # the user read as they were.
    assert trace.request["path"] == "/account/login/"
    assert trace.request["query"] == "next=/account/home/"
    assert trace.request["headers"]["Referer"] == "http://testserver/account/login/?next=/account/home/"
    assert trace.spans[0].name == "POST /account/login/"
    assert trace.response["headers"]["Location"] == "/account/home/"
    assert trace.request["user"] is None  # the request was made anonymously; it logged dora in
    assert user.username == "dora"
    assert REDACTED not in trace.request["path"]

    # Saved, it replays: the same view and status (the password cannot be restored, so the test passes
    # the form itself).
    saved = tmp_path / "login.json"
    trace.save(saved)
    result = replay_trace(saved, client=Client(), data=f"username=dora&password={PASSWORD}&next=/account/home/")
    assert result.comparison.ok, result.comparison.failures
    assert result.response.status_code == 302


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_multipart_login_form_is_hidden_field_by_field(settings):
    settings.DEBUG = True
    get_user_model().objects.create_user("dora", "dora@example.com", PASSWORD)
    Client().post("/account/login/?next=/account/home/",
                  {"username": "dora", "password": PASSWORD, "next": "/account/home/"})
    trace = last_trace()
    assert PASSWORD not in trace.to_json().decode()
    assert trace.request["form"] == {"username": [REDACTED], "password": [REDACTED], "next": [REDACTED]}
    assert trace.request["path"] == "/account/login/" and trace.request["query"] == "next=/account/home/"
