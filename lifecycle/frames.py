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

# Per filename: _LIBRARY, _USER, or _STOPS (a file of ours holding stop codes; never a user file).
_LIBRARY, _USER, _STOPS = 0, 1, 2
_is_user: dict[str, int] = {}
# Code objects where a walk stops, by filename: the recorder's own entry points and the wrappers it puts
# around the view and each middleware layer. Below the view's wrapper lie only the handler and the
# middleware chain (``get_response`` calls), which say nothing about where a query came from; walking
# them cost about 25 of the 61 frames of a query in a template (bench/RESULTS.md). A query made in a
# middleware stops at the wrapper of its own layer, so that middleware's frame is still kept.
# Compared by identity, never hashed (a code object's hash is not cached).
_stop_codes: dict[str, tuple] = {}


def stop_at(code) -> None:
    """Stop stack walks at frames running ``code`` (idempotent)."""
    name = code.co_filename
    codes = _stop_codes.get(name, ())
    if not any(code is c for c in codes):
        _stop_codes[name] = (*codes, code)
    _is_user.pop(name, None)


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


def _classify(filename: str) -> int:
    global _library_dirs
    if _library_dirs is None:
        _library_dirs = _compute_library_dirs()
    if filename in _stop_codes:
        kind = _STOPS
    elif filename.startswith("<"):
        kind = _LIBRARY
    else:
        real = os.path.realpath(filename)
        kind = _LIBRARY if any(real.startswith(d) or real == d for d in _library_dirs) else _USER
    _is_user[filename] = kind
    return kind


def user_frames(depth: int, frame: FrameType | None = None) -> tuple[Frame, ...]:
    """Up to ``depth`` user frames, innermost first, starting at the caller's caller."""
    if depth <= 0:
        return ()
    f = frame if frame is not None else sys._getframe(2)
    out: list[Frame] = []
    is_user = _is_user
    while f is not None:
        code = f.f_code
        name = code.co_filename
        kind = is_user.get(name)
        if kind is None:
            kind = _classify(name)
        if kind:
            if kind == _USER:
                out.append((name, f.f_lineno, code.co_name))
                if len(out) >= depth:
                    break
            else:
                for stop in _stop_codes[name]:
                    if code is stop:
                        return tuple(out)
        f = f.f_back
    return tuple(out)


def traceback_user_frames(tb, depth: int) -> list[Frame]:
    """User frames of a traceback, innermost first."""
    frames: list[Frame] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        name = code.co_filename
        kind = _is_user.get(name)
        if kind is None:
            kind = _classify(name)
        if kind == _USER:
            frames.append((name, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    frames.reverse()
    return frames[:depth]


_cwd = os.getcwd() + os.sep


def display(frames) -> list[list]:
    """JSON form: ``[[file, line, function], ...]`` with paths relative to the working directory."""
    return [[f[0][len(_cwd):] if f[0].startswith(_cwd) else f[0], f[1], f[2]] for f in frames]
