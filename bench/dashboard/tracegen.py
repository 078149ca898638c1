"""Traces for the dashboard benchmark: one big trace (10,000 spans) and a per-request template.

The big trace looks like a heavy page: the middleware stack, a view that runs an N+1 (1,500 queries with one
fingerprint: one folded row in the waterfall), then a template that includes a row template per item, each
with its own queries, a cache lookup and a nested include. It is a valid version 1 trace (the dashboard's
parser and ``lifecycle/schema/trace-v1.json`` accept it); ``python tracegen.py --check`` validates it
against the schema.
"""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "frontend" / "src" / "lib" / "__fixtures__" / "book-list-n-plus-one.json"
SCHEMA = ROOT / "lifecycle" / "schema" / "trace-v1.json"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

SQL = {
    "list": ('SELECT "shop_book"."id", "shop_book"."title", "shop_book"."author_id", "shop_book"."price" '
             'FROM "shop_book" ORDER BY "shop_book"."title" ASC', "0f0e0d0c0b0a"),
    "author": ('SELECT "shop_author"."id", "shop_author"."name", "shop_author"."bio" FROM "shop_author" '
               'WHERE "shop_author"."id" = %s LIMIT 21', "a1b2c3d4e5f6"),
    "tags": ('SELECT "shop_tag"."id", "shop_tag"."name" FROM "shop_tag" INNER JOIN "shop_book_tags" ON '
             '("shop_tag"."id" = "shop_book_tags"."tag_id") WHERE "shop_book_tags"."book_id" = %s', "b2c3d4e5f6a1"),
    "badge": ('SELECT COUNT(*) AS "__count" FROM "shop_review" WHERE "shop_review"."book_id" = %s',
              "c3d4e5f6a1b2"),
}


class Builder:
    def __init__(self, seed: int = 7) -> None:
        self.spans: list[dict[str, Any]] = []
        self.rng = random.Random(seed)
        self.t = 0

    def span(self, parent: int | None, kind: str, name: str, attrs: dict[str, Any], dur: int) -> dict[str, Any]:
        s = {"id": len(self.spans), "parent_id": parent, "kind": kind, "name": name[:120],
             "start_ns": self.t, "duration_ns": dur, "attrs": attrs}
        self.spans.append(s)
        return s

    def sql(self, parent: int, key: str, param: int, frame: list[Any]) -> None:
        text, fp = SQL[key]
        dur = self.rng.randint(25_000, 90_000)
        self.span(parent, "sql", text, {"sql": text, "params": [str(param)], "alias": "default", "vendor": "sqlite",
                                        "rows": 1, "many": False, "stack": [frame], "fp": fp}, dur)
        self.t += dur + 3_000

    def close(self, s: dict[str, Any]) -> None:
        s["duration_ns"] = max(1, self.t - s["start_ns"])
        self.t += 1_000


def big_trace(n_spans: int = 10_000, trace_id: str = "b16b16b16b16b16b") -> dict[str, Any]:
    """A finished trace of exactly ``n_spans`` spans (at least 40)."""
    b = Builder()
    root = b.span(None, "request", "GET /reports/books/", {"method": "GET", "path": "/reports/books/"}, 0)
    b.t += 5_000
    parent = root["id"]
    opened = [root]
    for name in MIDDLEWARE:
        m = b.span(parent, "middleware", name, {"class": name}, 0)
        opened.append(m)
        parent = m["id"]
        b.t += 4_000
    handler = b.span(parent, "middleware", "django handler", {"class": "django handler"}, 0)
    opened.append(handler)
    b.t += 2_000
    b.span(handler["id"], "resolve", "reports/books/", {"route": "reports/books/", "url_name": "book-report",
                                                         "namespace": "", "view": "shop.views.report", "args": [],
                                                         "kwargs": {}}, 40_000)
    b.t += 45_000
    view = b.span(handler["id"], "view", "shop.views.report", {"view": "shop.views.report", "is_async": False}, 0)
    b.t += 10_000
    b.sql(view["id"], "list", 0, ["shop/views.py", 40, "report"])
    # The N+1 in the view: 1,500 author queries in a row.
    n_plus_one = min(1_500, max(5, (n_spans - 40) // 6))
    for i in range(n_plus_one):
        b.sql(view["id"], "author", i % 97, ["shop/views.py", 44, "report"])
    page = b.span(view["id"], "template", "shop/report.html", {"template": "shop/report.html",
                                                                "origin": "shop/templates/shop/report.html",
                                                                "via": "render"}, 0)
    b.t += 5_000
    # Spans still to make, keeping 0 for the closing ones (they are already counted).
    remaining = n_spans - len(b.spans)
    row_no = 0
    while remaining > 0:
        if remaining >= 6:
            row = b.span(page["id"], "template", "shop/_row.html", {"template": "shop/_row.html",
                                                                     "origin": "shop/templates/shop/_row.html",
                                                                     "via": "include"}, 0)
            b.t += 2_000
            b.sql(row["id"], "tags", row_no, ["shop/templates/shop/_row.html", 3, "render"])
            b.span(row["id"], "cache", f"get book:{row_no}:price", {"op": "get", "key": f"book:{row_no}:price",
                                                                     "hit": row_no % 3 != 0, "alias": "default"}, 9_000)
            b.t += 11_000
            badge = b.span(row["id"], "template", "shop/_badge.html", {"template": "shop/_badge.html",
                                                                        "origin": "shop/templates/shop/_badge.html",
                                                                        "via": "include"}, 0)
            b.t += 1_000
            b.sql(badge["id"], "badge", row_no, ["shop/templates/shop/_badge.html", 1, "render"])
            b.close(badge)
            b.sql(row["id"], "author", row_no % 97, ["shop/templates/shop/_row.html", 7, "render"])
            b.close(row)
            remaining -= 6
        else:
            b.span(page["id"], "cache", f"get footer:{remaining}", {"op": "get", "key": f"footer:{remaining}",
                                                                     "hit": True, "alias": "default"}, 7_000)
            b.t += 9_000
            remaining -= 1
        row_no += 1
    b.close(page)
    b.close(view)
    for s in reversed(opened):
        b.close(s)
    assert len(b.spans) == n_spans, len(b.spans)
    return finish(b.spans, trace_id, "/reports/books/", "book-report", "shop.views.report")


def finish(spans: list[dict[str, Any]], trace_id: str, path: str, url_name: str, view: str) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    time_ns: dict[str, int] = defaultdict(int)
    by_fp: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in spans:
        counts[s["kind"]] += 1
        time_ns[s["kind"]] += s["duration_ns"]
        if s["kind"] == "sql":
            by_fp[s["attrs"]["fp"]].append(s)
    groups = []
    for fp, members in by_fp.items():
        if len(members) < 2:
            continue
        params = defaultdict(int)
        for m in members:
            params[tuple(m["attrs"]["params"])] += 1
        groups.append({"fp": fp, "fingerprint": members[0]["attrs"]["sql"].replace("%s", "?"),
                       "count": len(members), "total_ns": sum(m["duration_ns"] for m in members),
                       "span_ids": [m["id"] for m in members],
                       "identical": sum(n for n in params.values() if n > 1),
                       "n_plus_one": len(members) >= 3, "stack": members[0]["attrs"]["stack"]})
    groups.sort(key=lambda g: -g["count"])
    duration = spans[0]["duration_ns"]
    return {
        "format": "lifecycle-trace", "version": 1, "id": trace_id,
        "started_at": "2026-11-25T01:40:00.123456Z", "duration_ns": duration,
        "request": {"method": "GET", "path": path, "query": "", "headers": {"User-Agent": "bench"},
                    "body": None, "body_omitted": None, "content_type": "", "user": None, "scheme": "http"},
        "response": {"status": 200, "headers": {"Content-Type": "text/html; charset=utf-8"}, "size": 51200,
                     "streaming": False},
        "resolver": {"url_name": url_name, "namespace": "", "route": path.strip("/") + "/", "view": view,
                     "args": [], "kwargs": {}},
        "spans": spans,
        "summary": {"counts": dict(counts), "time_ns": dict(time_ns), "queries": counts["sql"],
                    "duplicate_groups": groups, "similar_groups": [],
                    "n_plus_one": sum(1 for g in groups if g["n_plus_one"]), "status": 200, "error": None},
        "dropped": {"spans": 0, "reason": None},
    }


def request_trace() -> dict[str, Any]:
    """The per-request trace of the ingest run: the frontend's book-list fixture (31 spans, an N+1)."""
    return json.loads(FIXTURE.read_text())


def row_of(trace: dict[str, Any]) -> dict[str, Any]:
    """The list row of a finished trace (docs/trace-format.md, "List row")."""
    s = trace["summary"]
    return {"id": trace["id"], "started_at": trace["started_at"], "method": trace["request"]["method"],
            "path": trace["request"]["path"], "status": s["status"], "duration_ns": trace["duration_ns"],
            "queries": s["queries"], "duplicates": sum(g["count"] for g in s["duplicate_groups"]),
            "n_plus_one": s["n_plus_one"], "error": s["error"],
            "view": (trace["resolver"] or {}).get("view"), "url_name": (trace["resolver"] or {}).get("url_name")}


def check(trace: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.validate(trace, json.loads(SCHEMA.read_text()))


if __name__ == "__main__":
    t = big_trace()
    if "--check" in sys.argv:
        check(t)
        check(request_trace())
        print(f"valid: {len(t['spans'])} spans, {len(json.dumps(t, separators=(',', ':'))) / 1e6:.1f} MB")
    else:
        json.dump(t, sys.stdout, separators=(",", ":"))
