"""Cheap capture of the user's own stack frames.

Stack capture is where debug tools lose their speed (debug-toolbar #218). We walk ``sys._getframe``
links, classify each file once (a dict keyed by filename; code objects are compared by nothing, their
hash is not cached), keep only user frames up to ``depth`` and return plain tuples. Formatting waits until
the trace is finished.

The same walk names the template lines a query or cache call runs under (``capture``): the frames of
``Node.render_annotated`` hold the node rendering (``self``), whose ``token`` (line, contents) and ``origin``
(template, file) Django keeps with or without template debug. Nothing is done per node while a template
renders: the nodes are read from the frames only when a query or cache call happens inside one.
"""

from __future__ import annotations

import linecache
import os
import sys
import sysconfig
from contextvars import ContextVar
from importlib.util import find_spec
from types import FrameType

Frame = tuple[str, int, str]

# The user frames of the coroutine that awaits a ``sync_to_async`` call, for the walks made in the thread that
# runs it (``lifecycle.instruments.sql`` sets it around the call): that thread's own stack holds the executor,
# not the coroutine, so an async view's ``await Book.objects.aget(...)`` would otherwise have no user frame.
awaited: ContextVar[tuple[Frame, ...] | None] = ContextVar("lifecycle_awaited", default=None)

# Per filename: _LIBRARY, _USER, _STOPS (a file of ours holding marked codes; never a user file), _NODES
# (the file of Django's ``Node.render_annotated``: library code whose frames may be a template node's), or
# _JINJA (a Jinja2 template's compiled code: a template line, never a user frame).
_LIBRARY, _USER, _STOPS, _NODES, _JINJA = 0, 1, 2, 3, 4
_UNSEEN = -1  # not classified yet
_is_user: dict[str, int] = {}
# Code objects of ours that a walk treats specially, by filename, each with its role, compared by identity
# (a code object's hash is not cached):
# - _STOP: the recorder's own entry points and the wrappers it puts around the view and each middleware
#   layer; the walk ends there. Below the view's wrapper lie only the handler and the middleware chain
#   (``get_response`` calls), which say nothing about where a query came from; walking them cost about 25
#   of the 61 frames of a query in a template (bench/RESULTS.md). A query made in a middleware stops at the
#   wrapper of its own layer, so that middleware's frame is still kept.
# - _ANCHOR: our wrappers around a template render or a {% for %} (lifecycle.instruments.templates): while
#   such a frame runs, the frames above it do not change, so the user frames above it are looked up once
#   and remembered (the ``memo`` of user_frames, keyed by the frame's id and forgotten by the wrapper when it
#   returns: see ``forget_anchor``). The queries of a template loop then walk only up to their {% for %},
#   not on through blocks, extends, includes, the view and the handler (37 -> 17 frames a query on the
#   benchmark's N+1 page; more is saved with deeper nesting).
#   The template lines above an anchor are remembered with its user frames (``capture``).
# - _AWAITED: asgiref's ``SyncToAsync.thread_handler``, which runs a sync_to_async call's function in its
#   worker thread (or in the thread blocked in async_to_sync further out): the walk goes on with the user frames
#   of the coroutine that awaits the call (``awaited``) and ends there.
_STOP, _ANCHOR, _AWAITED = 1, 2, 3
_marked: dict[str, tuple[tuple[object, int], ...]] = {}
# Django's ``Node.render_annotated`` (its frames' ``self`` is the node rendering), by filename: a file of its
# own kind, so that the many other frames of django/template/base.py cost one identity check more.
_node_code: dict[str, object] = {}


def stop_at(code) -> None:
    """Stop stack walks at frames running ``code`` (idempotent)."""
    _mark(code, _STOP)


def anchor_at(code) -> None:
    """Remember the user frames above frames running ``code`` (idempotent; see ``_marked``)."""
    _mark(code, _ANCHOR)


# Code flags of the frames an await chain is made of (inspect.CO_COROUTINE, CO_ITERABLE_COROUTINE,
# CO_ASYNC_GENERATOR): the first frame without one below a coroutine is the event loop running its task.
_AWAITING = 0x80 | 0x100 | 0x200


def awaiting(depth: int, frame: FrameType | None) -> tuple[Frame, ...]:
    """Up to ``depth`` user frames of the await chain from ``frame`` (a coroutine's) outwards, for a
    sync_to_async call made there (``awaited``). The chain ends at the first frame that is not a coroutine's:
    the event loop (asyncio's, uvloop's) and what started it, which say nothing of the request, are left out
    (a task started by ``asyncio.gather`` shows only its own frames). The walk also ends at our stops (the
    view's wrapper). A coroutine run by ``async_to_sync`` inside another sync_to_async call goes on with
    that call's awaiting frames."""
    out: list[Frame] = []
    get = _is_user.get
    f = frame
    while f is not None:
        code = f.f_code
        if not code.co_flags & _AWAITING:
            above = awaited.get()
            if above:
                out.extend(above)
            break
        name = code.co_filename
        kind = get(name, _UNSEEN)
        if kind == _UNSEEN:
            kind = _classify(name)
        if kind == _USER:
            out.append((name, f.f_lineno, code.co_name))
            if len(out) >= depth:
                break
        elif kind == _STOPS and any(code is marked and role == _STOP for marked, role in _marked[name]):
            break
        f = f.f_back
    return tuple(out[:depth])


def awaited_at(code) -> None:
    """Frames running ``code`` run a sync_to_async call's function: a walk that reaches one goes on with
    the frames in ``awaited`` (idempotent)."""
    _mark(code, _AWAITED)


def node_at(code) -> None:
    """Read the template node (``self``) of frames running ``code``, ``Node.render_annotated`` (idempotent)."""
    _node_code[code.co_filename] = code
    _is_user.pop(code.co_filename, None)


_jinja_files: set[str] = set()


def template_code(filename: str) -> None:
    """Frames of code compiled from ``filename`` run a Jinja2 template (lifecycle.instruments.jinja)."""
    if filename not in _jinja_files:
        _jinja_files.add(filename)
        _is_user.pop(filename, None)


def _mark(code, role: int) -> None:
    name = code.co_filename
    marks = _marked.get(name, ())
    if not any(code is c for c, _ in marks):
        _marked[name] = (*marks, (code, role))
    _is_user.pop(name, None)


def forget_anchor(memo: dict[int, tuple], nodes: bool = False) -> None:
    """Called by an anchor wrapper as it returns: once its frame is gone, the frame's id may be reused.

    ``nodes``: a top-level render returns, so the template lines remembered per node go too."""
    memo.pop(id(sys._getframe(1)), None)
    if nodes:
        memo.pop(_NODE_LINES, None)
        memo.pop(_RECENT, None)


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
    if filename in _marked:
        kind = _STOPS
    elif filename in _node_code:
        kind = _NODES
    elif filename in _jinja_files:
        kind = _JINJA
    elif filename.startswith("<"):
        kind = _LIBRARY
    else:
        real = os.path.realpath(filename)
        kind = _LIBRARY if any(real.startswith(d) or real == d for d in _library_dirs) else _USER
    _is_user[filename] = kind
    return kind


def user_frames(depth: int, frame: FrameType | None = None, memo: dict[int, tuple] | None = None) -> tuple[Frame, ...]:
    """Up to ``depth`` user frames, innermost first, starting at the caller's caller.

    ``memo``: the recording's remembered user frames above anchor frames (see ``_marked``)."""
    return capture(depth, frame if frame is not None else sys._getframe(2), memo)[0]


def capture(depth: int, frame: FrameType | None, memo: dict[int, tuple] | None = None,
            in_template: bool = False, base: int = 0) -> tuple[tuple[Frame, ...], list[dict] | None]:
    """Up to ``depth`` user frames from ``frame`` outwards, innermost first, and the template lines the
    walk passed (``template_stack``: None when it passed none).

    The template lines are the innermost node running (``{{ book.author.name }}``), then the node that
    rendered each enclosing template (an ``{% include %}``, ``{% extends %}``, inclusion tag, ``{% partial
    %}``) and every ``{% for %}`` on the way, up to the top-level render: the node read in the first
    ``Node.render_annotated`` frame above the query and above each of our render and ``{% for %}``
    wrappers (the anchors: a ``{% for %}``'s own wrapper runs inside its ``render_annotated``).

    ``in_template``: the caller knows it runs inside a template render, so the walk goes on past
    ``depth`` user frames (a query made deep in a model property) until it meets a template anchor.
    ``memo``: the recording's ``anchors``, per anchor frame (by id) the user frames and template lines above
    it, and the line of each template node met (under key 0). The entries of a span's ``template_stack`` are
    shared with the other spans of the trace that ran under the same node: read them, never change them.
    ``base``: ``frame`` is ``sys._getframe(base)`` of our caller. With it, the call paths from ``frame`` to a
    remembered anchor are remembered too, and the next query made by the same path (the next turn of a
    template loop) is recognized without a walk (see ``_known_path``).
    """
    if depth <= 0:
        return (), None
    if base and memo is not None:
        recent = memo.get(_RECENT)
        if recent is not None:
            # base + 2: from _known_path's frame (ours, then our caller's).
            known = _known_path(recent, memo, base + 2)  # type: ignore[arg-type]  # the memo's list entry
            if known is not None:
                return known
    f = frame
    out: list[Frame] = []
    where: list[dict] | None = None
    want = True  # the next node met is one of the template lines
    reached = None  # (anchor frame, its memo entry): the walk ended at a remembered anchor past new ones
    get = _is_user.get
    # Anchors passed on this walk, innermost first: (frame id, len(out), len(where) when reached). With
    # anchors pending the walk goes on to the first remembered anchor (or the end), for the memo.
    pending: list[tuple[int, int, int]] | None = None
    while f is not None:
        # Most frames are library frames (_LIBRARY is 0): they cost one lookup and the step back.
        code = f.f_code
        kind = get(code.co_filename, _UNSEEN)
        if kind:
            name = code.co_filename
            if kind == _UNSEEN:
                kind = _classify(name)
            if kind == _USER:
                out.append((name, f.f_lineno, code.co_name))
                if len(out) >= depth and pending is None and not in_template:
                    break
            elif kind == _NODES:
                if want and code is _node_code[name]:
                    want = False
                    entry = _node_line(f.f_locals.get("self"), memo)
                    if entry is not None:
                        if where is None:
                            where = []
                        where.append(entry)
            elif kind == _STOPS:
                role = 0
                for marked, marked_role in _marked[name]:
                    if code is marked:
                        role = marked_role
                        break
                if role == _ANCHOR:
                    want = True
                    if memo is not None:
                        above = memo.get(id(f))
                        if above is not None:
                            if pending is None:
                                found = _above(above, out, where, depth)
                                if base:
                                    _learn_path(frame, f, above, memo, found)
                                return found
                            out.extend(above[0])
                            if above[1]:
                                if where is None:
                                    where = []
                                where.extend(above[1])
                            reached = f, above
                            break
                        if pending is None:
                            pending = []
                        pending.append((id(f), len(out), len(where) if where is not None else 0))
                elif role == _STOP:
                    break
                elif role == _AWAITED:
                    # Where a sync_to_async call's function starts: what called it is the coroutine awaiting
                    # the call, in the event loop's thread, not the executor (or async_to_sync) frames above.
                    above_await = awaited.get()
                    if above_await:
                        out.extend(above_await)
                    break
            elif kind == _JINJA:
                entry = jinja_line(f)
                if entry is not None:
                    if where is None:
                        where = []
                    where.append(entry)
        f = f.f_back
    if pending is not None:
        lines = tuple(where) if where is not None else ()
        for key, at, lines_at in pending:
            memo[key] = (tuple(out[at:at + depth]), lines[lines_at:], {}, {})  # type: ignore[index]
    found = tuple(out[:depth]), where
    if reached is not None and base:
        _learn_path(frame, reached[0], reached[1], memo, found)  # type: ignore[arg-type]
    return found


# The memo's key of the anchors whose call paths were remembered last, newest first (1 is no object's id).
_RECENT = 1
_MAX_RECENT = 3
_MAX_PATHS = 16  # call paths remembered per anchor


def _learn_path(frame: FrameType | None, anchor: FrameType, entry: tuple, memo: dict, found: tuple) -> None:
    """Remember how the walk from ``frame`` reached the remembered ``anchor`` and what it found.

    What a later query must match to be given ``found`` without a walk (``_known_path``): the same anchor
    frame at the same distance, the same template node in each ``render_annotated`` frame on the way (the
    node's identity: its template line, and the {% include %} that rendered its template), and the same code
    and line in each user frame on the way. The frames between are library frames, which the walk skips.
    Not learned: a path through a Jinja2 template (its line is the frame's), or one longer than a walk would
    be worth skipping (the distance is what ``sys._getframe`` walks in C)."""
    paths = entry[3]
    if len(paths) >= _MAX_PATHS:
        return
    checks: list[tuple[int, object, object]] = []
    get = _is_user.get
    f = frame
    n = 0
    while f is not None and f is not anchor:
        code = f.f_code
        kind = get(code.co_filename, _UNSEEN)
        if kind == _USER:
            checks.append((n, code, f.f_lineno))
        elif kind == _NODES:
            if code is _node_code[code.co_filename]:
                checks.append((n, None, f.f_locals.get("self")))
        elif kind in (_JINJA, _UNSEEN):
            return
        f = f.f_back
        n += 1
        if n > 200:
            return
    if f is None:
        return
    paths.setdefault(n, []).append((tuple(checks), found))
    recent = memo.get(_RECENT)
    key = id(anchor)
    if recent is None or recent[0] != key:
        # A new list, never one changed in place: another thread of the request may be reading it.
        memo[_RECENT] = [key, *(k for k in recent or () if k != key)][:_MAX_RECENT]


def _known_path(recent: list, memo: dict, base: int) -> tuple | None:
    """What a walk would find, if the stack from ``sys._getframe(base)`` of our caller up to a remembered
    anchor follows a path learned before (``_learn_path``). ``sys._getframe(n)`` steps over the frames in
    between without making their frame objects, which is what a walk spends most on."""
    getframe = sys._getframe
    try:
        for key in recent:
            entry = memo.get(key)
            if entry is None:
                continue  # that anchor returned
            for n, learned in entry[3].items():
                try:
                    if id(getframe(base + n)) != key:
                        continue
                except ValueError:  # a shorter stack
                    continue
                for checks, found in learned:
                    for at, code, value in checks:
                        f = getframe(base + at)
                        if code is None:
                            if f.f_locals.get("self") is not value:
                                break
                        elif f.f_code is not code or f.f_lineno != value:
                            break
                    else:
                        return found
    except RuntimeError:  # another thread of the request learned a path meanwhile (the dict grew): walk
        return None
    return None


_MAX_JOINED = 256  # call chains remembered per anchor frame


def _above(above: tuple, out: list, where: list | None, depth: int) -> tuple[tuple[Frame, ...], list[dict] | None]:
    """The walk met a remembered anchor: what it found below it, then what the anchor remembers above.

    The queries of one loop find the same below it (no user frame, the same node's line): the joined
    result is remembered in the anchor's entry (forgotten with it) and the same objects are returned to
    each, so the trace holds one call chain per loop site, not one per query (``finalize`` groups spans
    by these objects' identity)."""
    joined = above[2]
    inner = where[0] if where is not None and len(where) == 1 else None
    key = (id(inner), *out) if where is None or inner is not None else None
    if key is not None:
        hit = joined.get(key)
        if hit is not None and hit[0] is inner:  # the entry is held by the hit: its id is not reused
            return hit[1], hit[2]
    stack = tuple([*out, *above[0]][:depth]) if out else above[0]
    lines = above[1]
    if lines:
        lines = [*where, *lines] if where is not None else list(lines)
    else:
        lines = where
    if key is not None and len(joined) < _MAX_JOINED:
        joined[key] = (inner, stack, lines)
    return stack, lines


_SOURCE_CHARS = 200
_NODE_LINES = 0  # the memo's key of the lines per node (0 is no object's id)


def _node_line(node, memo: dict | None) -> dict | None:
    """``template_line(node)``, remembered per node while the top-level render runs (the queries of a loop
    run under the same nodes again); the memo holds the node, so its id is not reused meanwhile."""
    if memo is None:
        return template_line(node)
    known = memo.get(_NODE_LINES)
    if known is None:
        known = memo[_NODE_LINES] = {}
    hit = known.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    entry = template_line(node)
    known[id(node)] = (node, entry)
    return entry


def _relative(file: str) -> str:
    return file[len(_cwd):] if file.startswith(_cwd) else file


def jinja_line(frame) -> dict | None:
    """The template line a frame of Jinja2's compiled code is at (its source: that line of the file)."""
    template = frame.f_globals.get("__jinja_template__")
    if template is None:
        return None
    line = template.get_corresponding_lineno(frame.f_lineno)
    file = template.filename or ""
    linecache.checkcache(file)
    source = linecache.getline(file, line).strip()
    if len(source) > _SOURCE_CHARS:
        source = source[:_SOURCE_CHARS - 1] + "…"
    return {"template": template.name or file, "file": _relative(file), "line": line, "source": source}


def template_line(node) -> dict | None:
    """``{"template", "file", "line", "source"}`` of a Django template node, from its token and origin."""
    token = getattr(node, "token", None)
    if token is None:
        return None
    contents = token.contents
    kind = token.token_type.value  # TokenType: TEXT 0, VAR 1, BLOCK 2, COMMENT 3
    source = f"{{{{ {contents} }}}}" if kind == 1 else f"{{% {contents} %}}" if kind == 2 else contents
    if len(source) > _SOURCE_CHARS:
        source = source[:_SOURCE_CHARS - 1] + "…"
    origin = getattr(node, "origin", None)
    file = str(getattr(origin, "name", "") or "")
    return {"template": getattr(origin, "template_name", None) or file,
            "file": _relative(file),
            "line": token.lineno, "source": source}


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
