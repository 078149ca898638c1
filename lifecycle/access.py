"""Who may see the dashboard: one callback, used identically by the HTTP views and the websocket.

``LIFECYCLE["ACCESS_CALLBACK"]`` is the dotted path of a callable ``callback(viewer) -> bool``. ``viewer``
is an :class:`AccessContext`, built from a Django ``HttpRequest`` or from a Channels websocket scope, so
that one function decides for both::

    def staff_only(viewer: AccessContext) -> bool:
        return viewer.user.is_active and viewer.user.is_staff

The callback runs in a thread where the ORM may be used (never on the event loop). It must not have side
effects: it runs for every page view, API call and websocket connection. Returning a falsy value refuses:
HTTP gets a 403 without any trace data, the websocket is closed with code 4403.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

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
        path = conf.get("ACCESS_CALLBACK")
        if not isinstance(path, str) or not path:
            raise ImproperlyConfigured(
                f'LIFECYCLE["ACCESS_CALLBACK"] must be a dotted path to a callable, got {path!r}.'
            )
        try:
            callback = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f'LIFECYCLE["ACCESS_CALLBACK"] = {path!r} cannot be imported ({exc}). Expected the '
                f"dotted path of a callable taking a lifecycle.access.AccessContext, "
                f'e.g. "lifecycle.access.default_access".'
            ) from exc
        if not callable(callback):
            raise ImproperlyConfigured(
                f'LIFECYCLE["ACCESS_CALLBACK"] = {path!r} is a {type(callback).__name__}, '
                f"expected a callable."
            )
        _callback = callback
    return _callback


def allowed(viewer: AccessContext) -> bool:
    return bool(get_callback()(viewer))


def request_allowed(request) -> bool:
    return allowed(AccessContext.from_request(request))


def _user_or_anonymous(user):
    if user is None:
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser()
    return user


@conf.on_reset
def _forget_callback() -> None:
    global _callback
    _callback = None
