"""``SQLiteStore``: a SQLite file of its own (never the site's database), shared by the processes of one machine.

WAL mode, so that the server processes' writers and the readers (the dashboard, ``manage.py lifecycle
traces``) do not wait for each other. The writer thread keeps its connection; a read opens one and closes it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from lifecycle.safety import report
from lifecycle.stores.base import Entry, StoreError, TraceStore, checked_row, checked_trace, project_key

SCHEMA_VERSION = 1
_ROWS_PER_INSERT = 200  # 4 parameters a row: within SQLite's oldest limit of 999 per statement
# A trace's JSON is tens of KB (26 KB for a page of 21 queries): with SQLite's default 4 KB pages each trace is a
# chain of overflow pages, each one written to the WAL and checkpointed on its own; 8 KB pages take the
# writer thread about a third less CPU a trace (bench/RESULTS.md) for a file of about the same size.
PAGE_SIZE = 8192
# Written in the file, so that another program's SQLite file is never taken for (and pruned as) ours.
APPLICATION_ID = 0x4C494643  # "LIFC"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS traces (id TEXT PRIMARY KEY, added_at REAL NOT NULL, row BLOB NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS traces_added_at ON traces (added_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value REAL NOT NULL);
"""


def default_path() -> Path:
    """``<temp dir>/django-request-lifecycle-<user>/<project>-<hash>.sqlite3``: one file per project, kept
    across restarts, outside the project (nothing to ignore in git), in a folder only its user can read."""
    return Path(tempfile.gettempdir()) / f"django-request-lifecycle-{_user()}" / f"{project_key()}.sqlite3"


def _user() -> str:
    try:
        import getpass

        name = getpass.getuser()
    except Exception:  # no user name (a container's numeric uid): the id
        name = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name) or "user"


def _private_folder(folder: Path) -> None:
    """Make ``folder`` readable by this user only; refuse one that another user made (a shared temp dir)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if hasattr(os, "getuid"):
        info = folder.lstat()
        if folder.is_symlink() or info.st_uid != os.getuid():
            raise OSError(f"{folder} belongs to another user; set LIFECYCLE['TRACE_STORE_OPTIONS'] = {{'path': ...}}")
        if info.st_mode & 0o077:
            folder.chmod(0o700)


class SQLiteStore(TraceStore):
    """Options: ``path``, the file (default: :func:`default_path`); its folder is created if missing."""

    def __init__(self, *, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(path) if path is not None else default_path()
        self._private = path is None
        self._ready = False  # the file's schema was checked (or made) by this instance
        self._writer_conn: tuple[int, sqlite3.Connection] | None = None  # (pid, the writer thread's connection)

    def describe(self) -> str:
        return f"the SQLite file {self.path}"

    def _open(self) -> sqlite3.Connection:
        try:
            if self._private:
                _private_folder(self.path.parent)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA busy_timeout = 5000")
                # No fsync: the file holds recent diagnostics, not the site's data. With WAL a process that
                # dies loses nothing written; an OS crash may lose the last traces (or, rarely, damage the
                # file: reported as a StoreError naming it, to be deleted). NORMAL's checkpoint fsyncs cost
                # the writer thread about 150 µs of the 255 a 26 KB trace takes to write.
                conn.execute("PRAGMA synchronous = OFF")
                if not self._ready:
                    self._prepare(conn)
                    self._ready = True
            except BaseException:
                conn.close()
                raise
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the trace store, {self.describe()}: {exc}") from None
        return conn

    def _run(self, what: str, fn, *, writer: bool = False):
        """``fn(connection)``: the writer thread keeps one connection; readers (request threads, which may be
        short-lived) open one for the call and close it."""
        try:
            if writer:
                held = self._writer_conn
                if held is None or held[0] != os.getpid():
                    self._writer_conn = held = (os.getpid(), self._open())
                return fn(held[1])
            conn = self._open()
            try:
                return fn(conn)
            finally:
                conn.close()
        except StoreError:
            raise
        except sqlite3.Error as exc:
            self._ready = False  # the file may have been deleted or replaced: check it again next time
            if writer:
                self._writer_done()  # and open a new connection for the next batch
            raise StoreError(f"{what} {self.describe()} failed: {type(exc).__name__}: {exc}") from None

    def _writer_done(self) -> None:
        held, self._writer_conn = self._writer_conn, None
        if held is not None and held[0] == os.getpid():
            held[1].close()

    def _prepare(self, conn: sqlite3.Connection) -> None:
        # A new file gets pages of PAGE_SIZE (set before WAL: a file in WAL mode keeps its page size; a file
        # that has tables keeps its own, so files made by earlier versions go on as they are).
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        # Where WAL cannot work (a network file system) SQLite keeps its default journal: slower, still right.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")  # one process at a time looks at (and creates) the schema
        try:
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables and application_id != APPLICATION_ID:
                raise StoreError(f"{self.describe()} is not a lifecycle trace store (another program's database?); "
                                 "set LIFECYCLE['TRACE_STORE_OPTIONS'] = {'path': ...} to a file of its own")
            if tables and version > SCHEMA_VERSION:
                raise StoreError(f"{self.describe()} was written by a newer django-request-lifecycle (store "
                                 f"version {version}, this one reads {SCHEMA_VERSION}); delete it or set another path")
            if not tables:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def write(self, entries: list[Entry]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # One statement per chunk of rows, not executemany: each statement step lets go of the GIL
                # and takes it back, and every take-back can make the request thread wait.
                for at in range(0, len(entries), _ROWS_PER_INSERT):
                    chunk = entries[at:at + _ROWS_PER_INSERT]
                    values: list[Any] = []
                    for e in chunk:
                        values += (e.id, e.added_at, _row_json(e.row), e.data)
                    conn.execute("INSERT OR REPLACE INTO traces (id, added_at, row, data) VALUES "
                                 + ", ".join(["(?, ?, ?, ?)"] * len(chunk)), values)
                if self.max_age is not None:
                    conn.execute("DELETE FROM traces WHERE added_at < ?", (self.cutoff(),))
                if self.max_traces == 0:
                    conn.execute("DELETE FROM traces")
                else:  # by the added_at index (a NOT IN of the newest ids costs several times more)
                    conn.execute("DELETE FROM traces WHERE added_at < "
                                 "(SELECT added_at FROM traces ORDER BY added_at DESC LIMIT 1 OFFSET ?)",
                                 (self.max_traces - 1,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        self._run("writing to", run, writer=True)

    def recent(self, limit: int) -> list[tuple[float, dict[str, Any]]]:
        rows = self._run("reading", lambda conn: conn.execute(
            "SELECT id, added_at, row FROM traces WHERE added_at >= ? ORDER BY added_at DESC LIMIT ?",
            (self.cutoff(), max(0, limit))).fetchall())
        out = []
        for trace_id, added_at, raw in rows:
            row = checked_row(raw, trace_id)
            if row is None or not isinstance(added_at, (int, float)):
                report("reading a damaged trace store row",
                       StoreError(f"trace {trace_id!r} in {self.describe()} has a damaged list row; left out"))
                continue
            out.append((float(added_at), row))
        return out

    def get_json(self, trace_id: str) -> bytes | None:
        found = self._run("reading", lambda conn: conn.execute(
            "SELECT data FROM traces WHERE id = ? AND added_at >= ?", (trace_id, self.cutoff())).fetchone())
        if found is None:
            return None
        data = found[0]
        if isinstance(data, str):
            data = data.encode()
        if not isinstance(data, bytes):
            raise StoreError(f"trace {trace_id!r} in {self.describe()} is damaged: its data is a "
                             f"{type(data).__name__}, not JSON")
        return checked_trace(data, trace_id, self.describe())

    def cleared_at(self) -> float:
        found = self._run("reading", lambda conn: conn.execute(
            "SELECT value FROM meta WHERE key = 'cleared_at'").fetchone())
        return float(found[0]) if found and isinstance(found[0], (int, float)) else 0.0

    def clear(self) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM traces")
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('cleared_at', ?)", (time.time(),))
            conn.execute("COMMIT")

        self._run("clearing", run)

def _row_json(row: dict[str, Any]) -> bytes:
    import orjson

    return orjson.dumps(row, default=str)
