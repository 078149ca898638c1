"""The trace store's background writer: the request path queues an entry; one thread writes batches.

Bounded: past ``queue_size`` waiting entries a new one is dropped and counted (``dropped``); a failing
write is counted (``failed``) and logged once (``lifecycle.safety``), never raised to a request. The thread
starts with the first entry, again in a forked child (gunicorn's workers fork after the app is loaded), and
what is queued is written at interpreter exit (runserver's reload, a restart), for up to two seconds.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from lifecycle.safety import report

_writers: weakref.WeakSet[Writer] = weakref.WeakSet()
EXIT_FLUSH_SECONDS = 2.0
# Seconds the writer waits after a first entry for more, so that a busy server's traces go in a few
# transactions rather than one each (and its thread wakes, and takes the GIL, once per batch, not per
# request). This process's own traces are listed at once (lifecycle.store keeps them in memory too); other
# processes see them this much later.
LINGER = 0.25


class Writer:
    def __init__(self, write: Callable[[list[Any]], None], *, queue_size: int = 1000, name: str = "store",
                 done: Callable[[], None] | None = None) -> None:
        self._write = write
        self._done = done
        self.queue_size = max(1, int(queue_size))
        self.name = name
        self.dropped = 0
        self.failed = 0
        self.written = 0
        self._setup()
        _writers.add(self)

    def _setup(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._io = threading.Lock()  # held while a batch is written (and while the store is cleared)
        self._pending: list[Any] = []
        self._inflight = 0
        self._closing = False
        self._hurry = False  # flush() waits: write without lingering
        self._thread: threading.Thread | None = None

    def submit(self, item: Any) -> None:
        if self._pid != os.getpid():
            self._setup()  # a forked child: the parent's thread and locks are not ours
        with self._cond:
            if self._closing:
                return
            if len(self._pending) >= self.queue_size:
                self.dropped += 1
                return
            self._pending.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"lifecycle-{self.name}-writer", daemon=True)
                self._thread.start()
            if len(self._pending) == 1:  # the writer waits for a first entry; later ones wait for the linger
                self._cond.notify_all()

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            if self._done is not None:
                try:
                    self._done()
                except Exception as exc:
                    report(f"closing the trace store ({self.name})", exc)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                deadline = time.monotonic() + LINGER
                while not (self._closing or self._hurry) and (remaining := deadline - time.monotonic()) > 0:
                    self._cond.wait(remaining)
                self._hurry = False
            with self._io:
                with self._cond:
                    batch, self._pending = self._pending, []
                    self._inflight = len(batch)
                try:
                    if batch:
                        self._write(batch)
                        self.written += len(batch)
                except Exception as exc:
                    self.failed += len(batch)
                    report(f"writing traces to the trace store ({self.name})", exc)
                finally:
                    with self._cond:
                        self._inflight = 0
                        self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted is written (or failed); False if ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if self._pending:
                self._hurry = True
                self._cond.notify_all()
            while self._pending or self._inflight:
                if self._thread is None or not self._thread.is_alive():
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    @property
    def queued(self) -> int:
        return len(self._pending)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No batch is written inside this block, and what was queued before it is dropped (a clear)."""
        with self._io:
            with self._cond:
                self._pending.clear()
            yield

    def close(self, timeout: float = EXIT_FLUSH_SECONDS) -> None:
        if self._pid != os.getpid():
            return
        self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()


@atexit.register
def _flush_all() -> None:
    deadline = time.monotonic() + EXIT_FLUSH_SECONDS
    for writer in list(_writers):
        if writer._pid == os.getpid():
            writer.flush(max(0.0, deadline - time.monotonic()))
