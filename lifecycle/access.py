"""Who may see the dashboard: one callback, used identically by the HTTP views and the websocket.

``LIFECYCLE["ACCESS_CALLBACK"]`` is the dotted path of a callable ``callback(viewer) -> bool``. ``viewer``
is an :class:`AccessContext`, built from a Django ``HttpRequest`` or from a Channels websocket scope, so
that one function decides for both::

    def staff_only(viewer: AccessContext) -> bool:
        return viewer.user.is_active and viewer.user.is_staff

The callback runs in a thread where the ORM may be used (never on the event loop). It must not have side
effects: it runs for every page view, API call and websocket connection. Returning a falsy value refuses:
HTTP gets a 403 without any trace data, the websocket is closed with code 4403. An open websocket asks
again every ``LIFECYCLE["ACCESS_RECHECK"]`` seconds, with the user read afresh from the session, and at
every ``backlog`` request: a viewer who logged out or lost staff status stops receiving events.

Origins. A browser page of another site must never read the dashboard in a developer's browser, whatever
ALLOWED_HOSTS says (``["*"]`` is common in development): the websocket accepts a browser page only from
the dashboard's own origin (the scheme, host and port it is served from) or from
``LIFECYCLE["ALLOWED_ORIGINS"]``, and the HTTP endpoints refuse cross-site reads (:func:`cross_site`). A
client that sends no ``Origin`` is not a browser page (browsers always send one on a websocket) and is
judged by the access callback alone, as a script is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from lifecycle import conf


@dataclass(frozen=True)
class AccessContext:
    """What the access callback gets to decide on.

    - ``user``: the user (``AnonymousUser`` when none is logged in or the auth middleware is missing).
    - ``client_ip``: the peer address as the server saw it (``REMOTE_ADDR`` / ``scope["client"]``), or "".
    - ``is_websocket``: True for the websocket, False for the page and the JSON endpoints.
    - ``headers``: request headers, names lower-cased (``"origin"``, ``"user-agent"``...).
    - ``path``: the requested path.
    - ``request`` / ``scope``: the original object (one of the two is None), for anything else.
    """

    user: Any
    client_ip: str
    is_websocket: bool
    headers: Mapping[str, str] = field(default_factory=dict)
    path: str = ""
    request: Any = None
    scope: Mapping[str, Any] | None = None

    @classmethod
    def from_request(cls, request) -> AccessContext:
        return cls(
            user=_user_or_anonymous(getattr(request, "user", None)),
            client_ip=request.META.get("REMOTE_ADDR") or "",
            is_websocket=False,
            headers={k.lower(): v for k, v in request.headers.items()},
            path=request.path,
            request=request,
        )

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> AccessContext:
        client = scope.get("client") or ("", 0)
        headers = {}
        for name, value in scope.get("headers") or ():
            headers[name.decode("latin1").lower()] = value.decode("latin1")
        return cls(
            user=_user_or_anonymous(scope.get("user")),
            client_ip=str(client[0] or ""),
            is_websocket=True,
            headers=headers,
            path=scope.get("path", ""),
            scope=scope,
        )


def default_access(viewer: AccessContext) -> bool:
    """Allowed when ``DEBUG`` is on and the client is in ``INTERNAL_IPS`` or the user is active staff."""
    if not settings.DEBUG:
        return False
    if viewer.client_ip and viewer.client_ip in settings.INTERNAL_IPS:
        return True
    user = viewer.user
    return bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))


_callback: Callable[[AccessContext], Any] | None = None


def get_callback() -> Callable[[AccessContext], Any]:
    """The configured callback; ImproperlyConfigured if the dotted path does not name a callable."""
    global _callback
    if _callback is None:
        _callback = conf.callable_setting("ACCESS_CALLBACK", "a lifecycle.access.AccessContext",
                                          "lifecycle.access.default_access")
    return _callback


def allowed(viewer: AccessContext) -> bool:
    return bool(get_callback()(viewer))


def refused(viewer: AccessContext, *, short: bool = False) -> str | None:
    """None when ``viewer`` may see the dashboard, else why not and how to allow it, in one sentence.

    The sentence names the rule, never trace data; ``short`` keeps it under a websocket close reason's
    123 bytes (the client address aside)."""
    callback = get_callback()
    if callback(viewer):
        return None
    if callback is not default_access:
        path = conf.get("ACCESS_CALLBACK")
        return f"LIFECYCLE['ACCESS_CALLBACK'] ({path}) refused this " + (
            "connection." if viewer.is_websocket else "request.")
    if not settings.DEBUG:
        if short:
            return "The default access rule needs DEBUG on; set LIFECYCLE['ACCESS_CALLBACK'] to allow it."
        return ("The lifecycle dashboard's default access rule needs DEBUG on, and DEBUG is off: set "
                "LIFECYCLE['ACCESS_CALLBACK'] to a callback of yours to allow viewers with DEBUG off.")
    user = viewer.user
    if getattr(user, "is_staff", False) and not getattr(user, "is_active", False):
        who = "your staff account is inactive"
    elif getattr(user, "is_authenticated", False):
        who = "your account is not staff"
    else:
        who = "you are not signed in"
    ip = viewer.client_ip
    if short:
        where = f"{ip} is not in INTERNAL_IPS" if ip else "no client address"
        return f"Staff or INTERNAL_IPS only: {where} and {who}."
    where = (f"your address {ip} is not in INTERNAL_IPS" if ip
             else "the server gave no client address to match against INTERNAL_IPS")
    fix = f"add {ip} to INTERNAL_IPS" if ip else "set LIFECYCLE['ACCESS_CALLBACK']"
    return (f"The lifecycle dashboard is shown to active staff users and to addresses in INTERNAL_IPS; "
            f"{where} and {who}: {fix} or sign in as a staff user.")


def request_allowed(request) -> bool:
    return allowed(AccessContext.from_request(request))


def fresh_scope(scope: Mapping[str, Any]) -> Mapping[str, Any]:
    """``scope`` with its user read again from the session store (runs in a thread: it queries).

    A websocket's user is resolved once, at the handshake (channels' ``AuthMiddleware``); re-checking
    access with that object would miss a logout, a deleted session, a password change or lost staff
    status. The session is loaded anew by its key and the user fetched through Django's own
    ``get_user`` (backend, session hash), on a read-only copy so that the check writes nothing. A scope
    without a session keeps its user, re-read from the database when it is a saved model instance.
    """
    user: Any = scope.get("user")
    session = scope.get("session")
    key = getattr(session, "session_key", None) if session is not None else None
    if session is not None and "user" in scope:
        if not key:
            from django.contrib.auth.models import AnonymousUser

            user = AnonymousUser()
        else:
            from django.contrib.auth import get_user

            store = session.__class__(session_key=key)  # a LazyObject in channels: its __class__ is the store's
            # get_user reads nothing of the request but its session.
            user = get_user(SimpleNamespace(session=_ReadOnlySession(store)))  # type: ignore[arg-type]
    elif getattr(user, "pk", None) is not None and hasattr(type(user), "_default_manager"):
        user = type(user)._default_manager.filter(pk=user.pk).first()
    return {**scope, "user": _user_or_anonymous(user)}


class _ReadOnlySession:
    """A session store whose reads go through and whose writes are dropped (``get_user`` may flush or
    cycle an invalid session; a dashboard's access check must not)."""

    def __init__(self, store) -> None:
        self._store = store

    def __getitem__(self, key: str) -> Any:
        return self._store[key]

    def __setitem__(self, key: str, value: Any) -> None:
        pass

    def get(self, key: str, default: Any = None) -> Any:
        return self._store.get(key, default)

    def flush(self) -> None:
        pass

    def cycle_key(self) -> None:
        pass


# -- origins -------------------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _origin_tuple(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin URL, lower-cased, the port made explicit; None if malformed."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if scheme not in ("http", "https") or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def _host_tuple(host: str, default_port: int) -> tuple[str, int] | None:
    try:
        parts = urlsplit("//" + host.strip())
        name = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if not name:
        return None
    return name, port if port is not None else default_port


def same_origin(origin: str, host: str, secure: bool | None) -> bool:
    """Whether ``origin`` (an ``Origin`` header) is the origin of the site reached as ``host``.

    ``host`` is the ``Host`` header of the request (what the browser connected to, so the page's host
    and port). ``secure`` is whether the request came over TLS as this server sees it; ``None`` when it
    cannot tell (a plain ``ws``/``http`` request may be a TLS connection ended at a proxy), in which case
    the origin's own scheme gives the default port. The origins of ``LIFECYCLE["ALLOWED_ORIGINS"]`` are
    accepted as well.
    """
    page = _origin_tuple(origin)
    if page is None:
        return False
    if page in allowed_origins():
        return True
    scheme, name, port = page
    if secure is True and scheme != "https":
        return False
    target = _host_tuple(host, _DEFAULT_PORTS[scheme] if secure is None else (443 if secure else 80))
    return target == (name, port)


_allowed: frozenset | None = None


def allowed_origins() -> frozenset:
    global _allowed
    if _allowed is None:
        origins = conf.get("ALLOWED_ORIGINS") or ()
        if isinstance(origins, str):
            origins = (origins,)
        parsed = set()
        for origin in origins:
            entry = _origin_tuple(origin) if isinstance(origin, str) else None
            if entry is None:
                raise ImproperlyConfigured(
                    f'LIFECYCLE["ALLOWED_ORIGINS"] holds {origin!r}: expected origins such as '
                    f'"https://dev.example.com" or "http://localhost:5173" (scheme, host, optional port).'
                )
            parsed.add(entry)
        _allowed = frozenset(parsed)
    return _allowed


def websocket_origin_ok(scope: Mapping[str, Any]) -> bool:
    """The websocket's origin rule: no ``Origin`` (not a browser), or the dashboard's own origin."""
    origin = host = None
    for name, value in scope.get("headers") or ():
        if name == b"origin":
            origin = value.decode("latin1")
        elif name == b"host":
            host = value.decode("latin1")
    if origin is None:
        return True
    scheme = scope.get("scheme")
    secure = True if scheme == "wss" else None
    return same_origin(origin, host or "", secure)


def cross_site(request) -> bool:
    """Whether an HTTP request to the dashboard or its API comes from another site's page.

    A top-level navigation (a link, the address bar, a download) is fine: the other page cannot read the
    answer. Anything else a browser marks as cross-site or same-site (``Sec-Fetch-Site``), or that carries
    an ``Origin`` which is not the dashboard's own, is refused before any data is read, whatever CORS
    middleware the site runs.
    """
    meta = request.META
    fetch_site = meta.get("HTTP_SEC_FETCH_SITE")
    navigate = meta.get("HTTP_SEC_FETCH_MODE") == "navigate" and meta.get("HTTP_SEC_FETCH_DEST") in (
        "document", None)
    origin = meta.get("HTTP_ORIGIN")
    if origin is not None and not navigate:
        secure = True if request.is_secure() else None
        if not same_origin(origin, meta.get("HTTP_HOST") or meta.get("SERVER_NAME") or "", secure):
            return True
    if fetch_site in ("cross-site", "same-site") and not navigate:
        return origin is None or not same_origin(origin, meta.get("HTTP_HOST") or "", None)
    return False


def _user_or_anonymous(user):
    if user is None:
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser()
    return user


@conf.on_reset
def _forget_callback() -> None:
    global _callback, _allowed
    _callback = None
    _allowed = None
