"""What a view marks as secret with Django's decorators, read the way Django's error reports read it.

- ``@sensitive_post_parameters("card", ...)`` sets ``request.sensitive_post_parameters`` (names, or
  ``"__ALL__"``) when the view is called: the body and form are redacted again with those names once the
  view has run (``lifecycle.instruments.handler``).
- ``@sensitive_variables("card", ...)`` marks the local variables of a function (and, as Django's
  ``SafeExceptionReporterFilter.get_traceback_frame_variables`` does, of the frames it calls). Traces keep
  no local variables (a stack frame is file, line and function), but an exception message can quote one:
  the values of marked variables in the exception's frames are replaced wherever the message has them.
"""

from __future__ import annotations

from typing import Any

from django.views.decorators.debug import coroutine_functions_to_sensitive_variables

ALL = "__ALL__"
_MAX_VALUES = 200


def post_parameters(request: Any) -> Any:
    """``request.sensitive_post_parameters``: a tuple of names, ``"__ALL__"``, or None."""
    marked = getattr(request, "sensitive_post_parameters", None)
    if marked == ALL:
        return ALL
    return tuple(marked) if marked else None


def post_values(request: Any, marked: Any) -> list[str]:
    """The values of the marked fields of a form the site already parsed (never parsed by us), to be
    replaced wherever else the trace quotes them.

    A field named in ``@sensitive_post_parameters("card")`` is a secret by the site's word. The blanket
    mark (no names: Django's ``LoginView`` and the admin's password views) hides the whole form from error
    reports, and the trace's body and form are redacted whole for it; but its other fields (``next=/admin/``,
    the username) are not secrets to hunt through the trace: replaced in the path, a header or the user,
    they would garble what the request was. Of those, only fields whose name is secret by lifecycle's own
    rules (``password``, ``token``...) count."""
    post = request.__dict__.get("_post")
    if not marked or post is None:
        return []
    if marked == ALL:
        from lifecycle.redact.words import sensitive_name

        names = [n for n in post if sensitive_name(n)]
    else:
        names = [n for n in marked if n in post]
    return [v for n in names for v in post.getlist(n) if isinstance(v, str)]


def _marked_names(frame: Any) -> Any:
    """The variables marked sensitive for ``frame`` (names, ``"__ALL__"``) or None, as Django finds them."""
    code = frame.f_code
    if code.co_flags & 0x80 and code.co_name != "sensitive_variables_wrapper":  # a coroutine
        key = hash(f"{code.co_filename}:{code.co_firstlineno}")
        names = coroutine_functions_to_sensitive_variables.get(key)
        if names is not None:
            return names
    current = frame.f_back
    while current is not None:
        if (current.f_code.co_name == "sensitive_variables_wrapper"
                and "sensitive_variables_wrapper" in current.f_locals):
            return getattr(current.f_locals["sensitive_variables_wrapper"], "sensitive_variables", None)
        current = current.f_back
    return None


def variable_values(tb: Any) -> list[str]:
    """The text values of variables marked ``@sensitive_variables`` in the frames of traceback ``tb``."""
    values: list[str] = []
    while tb is not None and len(values) < _MAX_VALUES:
        frame = tb.tb_frame
        names = _marked_names(frame)
        if names:
            local = frame.f_locals
            chosen = local.values() if names == ALL else (local[n] for n in names if n in local)
            for v in chosen:
                if isinstance(v, (str, int)) and not isinstance(v, bool):
                    text = str(v)
                    if text and text not in values:
                        values.append(text)
        tb = tb.tb_next
    return values
