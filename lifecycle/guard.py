"""The suite-wide N+1 guard (``pytest --lifecycle-n-plus-one=fail|warn``): every request a test makes
through the test client, the async client or the live server is recorded in one block per test, with no
file; at the end of the test the trace is finalized and its N+1 groups (``lifecycle.nplusone``, the rule
of the dashboard) are reported.

The block is *open* (``lifecycle.replay_client``: a request in a context with no recording joins the
newest open block) but never *active* in the test's context: the test's own queries (fixtures creating
rows in a loop) are not recorded, cost nothing and are never judged, and a ``lifecycle.record()`` block or
a ``lifecycle_replay`` call inside the test records its requests itself, as without the guard (the
newest open block wins; a replay's recording is active in its context, so its request joins no block).
"""

from __future__ import annotations

import contextvars
from typing import Any

from lifecycle import conf, nplusone
from lifecycle.compare import _clip
from lifecycle.instruments import install_all
from lifecycle.recorder import Recording
from lifecycle.replay_client import activate_block, deactivate_block
from lifecycle.summary import finalize

MODES = ("fail", "warn", "off")
MARKER = "lifecycle_allow_n_plus_one"
_SQL = 200


class Guard:
    """One test's block: ``close()`` ends it and returns the N+1 groups of its requests."""

    def __init__(self, label: str) -> None:
        install_all()  # idempotent
        self.rec = Recording("block", label, {"label": label, "guard": True}, max_spans=conf.get("MAX_SPANS"))
        # activate_block also makes the block this context's (a ContextVar): done in a throwaway copy of
        # the context, so that only the process-wide list of open blocks holds it (see the module doc).
        self._token = contextvars.copy_context().run(activate_block, self.rec)

    def close(self) -> list[dict[str, Any]]:
        token, self._token = self._token, None
        if token is None:
            return []
        contextvars.copy_context().run(deactivate_block, token)
        rec = self.rec
        rec.end(rec.request_span)
        trace = rec.finish()
        if len(trace.spans) == 1:
            return []  # no request: nothing to finalize
        finalize(trace, rec.secrets)
        names = {s.id: s.name for s in trace.spans if s.kind == "request"}
        root = rec.request_span.id
        groups = []
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
