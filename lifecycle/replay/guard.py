"""The suite-wide N+1 guard (``pytest --lifecycle-n-plus-one=fail|warn``): every request a test makes
through the test client, the async client or the live server is recorded in one block per test, with no
file; at the end of the test the trace is finalized and its N+1 groups (``lifecycle.nplusone``, the rule
of the dashboard) are reported.

The block is *open* (``lifecycle.replay.client``: a request in a context with no recording joins the
newest open block) but never *active* in the test's context: the test's own queries (fixtures creating
rows in a loop) are not recorded, cost nothing and are never judged, and a ``lifecycle.record()`` block or
a ``lifecycle_replay`` call inside the test records its requests itself, as without the guard (the
newest open block wins; a replay's recording is active in its context, so its request joins no block).

A request that the middleware records by its own policy (DEBUG on, ``ENABLED`` True) is still recorded
by it, as without the guard (the dashboard's store sees it): the guard judges that trace when the
middleware hands it to ``lifecycle.store.add``. See :func:`_yield_to_the_middleware`. Traces of other
kinds (a Channels consumer's, ``lifecycle.channels``) are judged only when ``N_PLUS_ONE_GUARD_KINDS``
names their kind.
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any

from lifecycle import conf, nplusone
from lifecycle.instruments import install_all
from lifecycle.recorder import Recording, clear_current, current
from lifecycle.redact.trace import redact_trace
from lifecycle.replay.client import activate_block, deactivate_block
from lifecycle.replay.compare import _clip
from lifecycle.summary import finalize

MODES = ("fail", "warn", "off")
MARKER = "lifecycle_allow_n_plus_one"
_SQL = 200
_open: list[Guard] = []  # the guards open in this process (one: pytest runs one test at a time)
_lock = threading.Lock()
_hooked = False


def _yield_to_the_middleware() -> None:
    """Let the middleware record the requests its policy records, and hand their traces to the guard.

    A request joins the guard's block in ``BaseHandler.get_response``, before the middleware runs; the
    middleware then sees a recording and starts none of its own (as inside ``lifecycle.record()``). For the
    guard's block only, its ``should_record`` asks the policy as if no block were open, and ``store.add``
    also gives each trace to the open guard. Installed once, on the first guarded test.
    """
    global _hooked
    if _hooked:
        return
    from lifecycle import middleware, policy, store

    should_record = middleware.LifecycleMiddleware.should_record
    add = store.add

    def guarded_should_record(self, request):
        rec = current()
        if rec is not None and rec.request_span.attrs.get("guard"):
            if request.path.startswith(self.ignored_prefixes()) or not policy.should_record(request):
                return False
            # Step aside: this request's recording is the middleware's alone (its span in the guard's block
            # stays empty). Leaving the block sets the context back; a streaming response keeps the
            # middleware's recording past that, and must not find the guard's as its parent.
            clear_current()
            return True
        return should_record(self, request)

    def guarded_add(trace, data=None):
        row = add(trace, data)
        with _lock:
            guard = _open[-1] if _open else None
        if guard is not None and getattr(trace, "kind", "request") in conf.get("N_PLUS_ONE_GUARD_KINDS"):
            guard.traces.append(trace)
        return row

    middleware.LifecycleMiddleware.should_record = guarded_should_record  # type: ignore[method-assign]
    store.add = guarded_add
    _hooked = True


class Guard:
    """One test's block: ``close()`` ends it and returns the N+1 groups of its requests."""

    def __init__(self, label: str) -> None:
        install_all()  # idempotent
        _yield_to_the_middleware()
        self.traces: list[Any] = []  # recorded by the middleware during the test
        self.rec = Recording("block", label, {"label": label, "guard": True}, max_spans=conf.get("MAX_SPANS"))
        # activate_block also makes the block this context's (a ContextVar): done in a throwaway copy of
        # the context, so that only the process-wide list of open blocks holds it (see the module doc).
        self._token = contextvars.copy_context().run(activate_block, self.rec)
        with _lock:
            _open.append(self)

    def close(self) -> list[dict[str, Any]]:
        token, self._token = self._token, None
        if token is None:
            return []
        contextvars.copy_context().run(deactivate_block, token)
        with _lock:
            if self in _open:
                _open.remove(self)
        groups: list[dict[str, Any]] = []
        for trace in self.traces:  # a request trace: its root is the request
            name = trace.spans[0].name if trace.spans else "?"
            groups.extend({**g, "request": name} for g in trace.summary.get("n_plus_one_groups") or ())
        rec = self.rec
        rec.end(rec.request_span)
        trace = rec.finish()
        if len(trace.spans) == 1:
            return groups  # no request of its own: nothing to finalize
        finalize(redact_trace(trace, rec.secrets))
        names = {s.id: s.name for s in trace.spans if s.kind == "request"}
        root = rec.request_span.id
        for group in trace.summary["n_plus_one_groups"]:
            if group["request_span_id"] == root or group["request_span_id"] not in names:
                continue  # only queries of a request are judged (none other is recorded)
            groups.append({**group, "request": names[group["request_span_id"]]})
        return groups


def message(nodeid: str, groups: list[dict[str, Any]], mode: str) -> str:
    """The failure (``fail``) or the terminal summary block (``warn``) of a test's N+1 groups."""
    found = f"{len(groups)} N+1 group{'s' if len(groups) != 1 else ''} (threshold {conf.get('N_PLUS_ONE_THRESHOLD')})"
    lines = [f"lifecycle N+1 guard: {found} in the requests of this test" if mode == "fail" else f"{nodeid}: {found}"]
    for group in groups:
        lines.append(
            f"  {group['request']}: {group['count']} queries from one call site, "
            f"{group['distinct_params']} distinct parameter sets (fingerprint {group['fp']})"
        )
        lines.append(f"    {_clip(group['fingerprint'], _SQL)}")
        chain = nplusone.chain(group)
        if chain:
            lines.append(f"    at {chain[0]}")
            lines.extend(f"    in {entry}" for entry in chain[1:])
        else:
            lines.append("    at: outside user code (no template line or user frame recorded)")
    if mode == "fail":
        lines.append(
            f'Fix it (select_related, prefetch_related), or allow it for this test: @pytest.mark.{MARKER}("why")'
        )
    return "\n".join(lines)
