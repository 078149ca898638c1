"""Cheap capture of the user's own stack frames.

Stack capture is where debug tools lose their speed (debug-toolbar #218). We walk ``sys._getframe``
links, classify each file once (a dict keyed by filename; code objects are compared by nothing, their
hash is not cached), keep only user frames up to ``depth`` and return plain tuples. Formatting waits until
the trace is finished.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from importlib.util import find_spec
from types import FrameType

Frame = tuple[str, int, str]

_is_user: dict[str, bool] = {}
# Code objects where a walk stops (the recorder's own entry points, e.g. the middleware's __call__):
# what lies below them is the server, never the user's code. Compared by identity, never hashed.
_stop_codes: list = []


def stop_at(code) -> None:
    if not any(code is c for c in _stop_codes):
        _stop_codes.append(code)
_library_dirs: tuple[str, ...] | None = None
_hidden_modules: tuple[str, ...] = ()


def configure(hidden_modules: tuple[str, ...] | list[str]) -> None:
    """Set the module prefixes (``"django."``) whose files count as library code."""
    global _library_dirs, _hidden_modules
    _hidden_modules = tuple(hidden_modules)
    _library_dirs = None
    _is_user.clear()


def _compute_library_dirs() -> tuple[str, ...]:
    dirs: set[str] = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(os.path.realpath(path))
    for path in sys.path:
        if path.rstrip("/").endswith(("site-packages", "dist-packages")):
            dirs.add(os.path.realpath(path))
    for module in _hidden_modules:
        top = module.rstrip(".")
        try:
            spec = find_spec(top)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            dirs.update(os.path.realpath(p) for p in spec.submodule_search_locations)
        elif spec is not None and spec.origin:
            dirs.add(os.path.realpath(spec.origin))
    return tuple(sorted(d + os.sep if not d.endswith(".py") else d for d in dirs))


def _classify(filename: str) -> bool:
    global _library_dirs
    if _library_dirs is None:
        _library_dirs = _compute_library_dirs()
    if filename.startswith("<"):
        user = False
    else:
        real = os.path.realpath(filename)
        user = not any(real.startswith(d) or real == d for d in _library_dirs)
    _is_user[filename] = user
    return user


def user_frames(depth: int, frame: FrameType | None = None) -> tuple[Frame, ...]:
    """Up to ``depth`` user frames, innermost first, starting at the caller's caller."""
    if depth <= 0:
        return ()
    f = frame if frame is not None else sys._getframe(2)
    out: list[Frame] = []
    is_user = _is_user
    stop = _stop_codes[0] if _stop_codes else None
    while f is not None:
        code = f.f_code
        if code is stop:
            break
        name = code.co_filename
        user = is_user.get(name)
        if user is None:
            user = _classify(name)
        if user:
            out.append((name, f.f_lineno, code.co_name))
            if len(out) >= depth:
                break
        f = f.f_back
    return tuple(out)


def traceback_user_frames(tb, depth: int) -> list[Frame]:
    """User frames of a traceback, innermost first."""
    frames: list[Frame] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        name = code.co_filename
        user = _is_user.get(name)
        if user is None:
            user = _classify(name)
        if user:
            frames.append((name, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    frames.reverse()
    return frames[:depth]


_cwd = os.getcwd() + os.sep


def display(frames) -> list[list]:
    """JSON form: ``[[file, line, function], ...]`` with paths relative to the working directory."""
    return [[f[0][len(_cwd):] if f[0].startswith(_cwd) else f[0], f[1], f[2]] for f in frames]
