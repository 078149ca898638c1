"""An instrument written the way the README's "Writing an instrument" section shows, outside lifecycle:
a span per job queued through ``tests.thirdparty.jobqueue.enqueue``."""

from __future__ import annotations

import functools

from lifecycle.instruments.base import Instrument
from lifecycle.kinds import Kind
from lifecycle.recorder import current
from lifecycle.safety import report
from tests.thirdparty import jobqueue


class JobInstrument(Instrument):
    kinds = (Kind("job", "job queued", "J", "#336699", live_attrs=("queue", "task")),)
    label = "job queue"

    def __init__(self) -> None:
        self.original = None

    def install(self) -> None:
        if self.original is not None:
            return
        original = self.original = jobqueue.enqueue

        @functools.wraps(original)
        def enqueue(task, *, queue="default", **payload):
            rec = current()
            if rec is None:
                return original(task, queue=queue, **payload)
            try:
                span, token = rec.push("job", f"enqueue {task}", {"task": task, "queue": queue,
                                                                  "payload_keys": sorted(payload)})
            except Exception as exc:
                report("job queue instrument", exc)
                return original(task, queue=queue, **payload)
            try:
                job_id = original(task, queue=queue, **payload)
            finally:
                rec.pop(span, token)
            if span is not None:
                span.attrs["job_id"] = job_id
            return job_id

        jobqueue.enqueue = enqueue

    def uninstall(self) -> None:
        if self.original is not None:
            jobqueue.enqueue = self.original
            self.original = None
