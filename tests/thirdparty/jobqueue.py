"""A stand-in for a third-party library the site uses (a job queue): not lifecycle's, not Django's."""

from __future__ import annotations

sent: list[tuple[str, dict]] = []


def enqueue(task: str, *, queue: str = "default", **payload) -> str:
    """Queue ``task``; returns its job id."""
    sent.append((task, payload))
    return f"{queue}-{len(sent)}"
