"""Trace ids: random, so that one trace's id tells nothing about another's."""

from __future__ import annotations

import re

from django.test import Client

from lifecycle.recorder import Recording, new_trace_id
from tests.conftest import all_traces


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def test_trace_ids_are_16_or_more_random_hex_chars():
    ids = [new_trace_id() for _ in range(2000)]
    assert all(re.fullmatch(r"[0-9a-f]{16,}", i) for i in ids), ids[:5]
    assert len(set(ids)) == len(ids)
    # A per-process prefix or a counter shows as shared leading or trailing characters: among 2000
    # random 64-bit ids, consecutive ones share 1/16 of the time a first character, almost never four.
    consecutive = list(zip(ids, ids[1:], strict=False))
    assert max(_common_prefix(a, b) for a, b in consecutive) < 6
    assert max(_common_prefix(a[::-1], b[::-1]) for a, b in consecutive) < 6
    assert sum(_common_prefix(a, b) > 0 for a, b in consecutive) < len(consecutive) * 0.15
    # Not sequential: consecutive ids are not a constant step apart.
    steps = {int(b, 16) - int(a, 16) for a, b in consecutive}
    assert len(steps) == len(consecutive)


def test_each_character_of_an_id_varies():
    ids = [new_trace_id() for _ in range(500)]
    for position in range(16):
        assert len({i[position] for i in ids}) >= 12, position


def test_consecutive_requests_get_unrelated_ids(db):
    client = Client()
    for n in range(20):
        client.get(f"/t/queries/{n % 3}/")
    ids = [t.id for t in all_traces()]
    assert len(ids) == 20 and len(set(ids)) == 20
    assert max(_common_prefix(a, b) for a in ids for b in ids if a != b) < 6
    assert Recording().trace.id not in ids
