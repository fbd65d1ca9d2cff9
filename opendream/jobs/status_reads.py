"""The status poll's read path: the few columns a status answer needs plus the queue position,
read without the SQLAlchemy machinery the rest of the store goes through.

Status is the call clients make most (every few hundred milliseconds per waiting client), and on
it the framework costs many times the lookup itself: through aiosqlite one read is several hand-offs
to a driver thread and back, each a wake-up of the event loop; through the pool each checkout
pings PostgreSQL first. So:

- SQLite: one primary-key lookup on a connection of its own, run right on the event loop (and
  kept until the next commit to the file). In WAL mode a reader never waits for a writer and the
  statement takes microseconds, less than one thread hand-off. The connection is in autocommit,
  so every read sees the latest commit and no read transaction is left open to hold back
  checkpoints. Should the file be busy anyway (rare: WAL recovery) the read gives up after
  `SQLITE_WAIT_S` and the store falls back to its pooled path, which waits in a thread.
- PostgreSQL: concurrent polls are coalesced into one `= ANY($1)` statement on a dedicated asyncpg
  connection. A poll only joins a batch that has not started yet, so it never sees a state older
  than its own arrival; one round trip answers every poll that arrived during the previous one.
  A row read back unchanged is answered with the view object handed out before, so an encoded
  answer kept per view (FastStatus) is reused.

`SQLITE_STATUS` and `view_of` are also the store's fallback for SQLite, run on a pooled
connection.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from opendream.jobs.base import StatusView, StoreUnavailable
from opendream.jobs.database import is_unavailable

# Longest a status read may hold the event loop waiting for a busy SQLite file.
SQLITE_WAIT_S = 0.05
PG_CONNECT_TIMEOUT_S = 10.0
VIEWS_KEPT = 4096  # views remembered (all dropped at this many)

# In_queue rows a worker takes before this one (created earlier, ties broken by insertion order),
# over every model: the default worker serves all models from one queue. Written as a row-value
# comparison, both databases count a range of ix_requests_queue_order.
_COLUMNS = """
    r.id, r.owner, r.status, r.progress,
    CASE WHEN r.status = 'in_queue' THEN (
        SELECT count(*) FROM requests a
        WHERE a.status = 'in_queue' AND (a.created_at, a.seq) < (r.created_at, r.seq)
    ) ELSE 0 END
"""
SQLITE_STATUS = f"SELECT {_COLUMNS} FROM requests r WHERE r.id = ?"
_PG_MANY = f"SELECT {_COLUMNS} FROM requests r WHERE r.id = ANY($1::text[])"


class StatusReads(Protocol):
    async def get(self, request_id: str) -> StatusView | None:
        """The request's status, whoever owns it; None when unknown. Raises StoreUnavailable."""

    async def close(self) -> None: ...


def view_of(row: Sequence[Any]) -> StatusView:
    progress = row[3]
    if isinstance(progress, str):  # JSON text from either driver
        progress = json.loads(progress)
    return StatusView(row[0], row[1], row[2], progress, int(row[4] or 0))


class SqliteStatusReads:
    """See the module doc. Used from one event loop thread only.

    Views are kept until anything commits: `PRAGMA data_version` changes whenever another
    connection, in this process or any other, commits to the file (this one never writes), and
    costs less than the lookup. While nothing changes, which is most polls of a queued request,
    a poll answers from memory with the same object, whose encoded answer callers may keep."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None
        self._views: dict[str, StatusView | None] = {}

    async def get(self, request_id: str) -> StatusView | None:
        try:
            conn = self._conn or self._connect()
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version or len(self._views) >= VIEWS_KEPT:
                self._views.clear()
                self._version = version
            elif request_id in self._views:
                return self._views[request_id]
            row = conn.execute(SQLITE_STATUS, (request_id,)).fetchone()
        except sqlite3.Error as e:
            raise StoreUnavailable(f"status read: {e}") from e
        view = self._views[request_id] = view_of(row) if row is not None else None
        return view

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, timeout=SQLITE_WAIT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA query_only=ON")
        self._conn, self._version = conn, None
        return conn

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PostgresStatusReads:
    """See the module doc."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: Any = None  # asyncpg.Connection, opened on first use and after a failure
        self._waiting: dict[str, list[asyncio.Future[StatusView | None]]] = {}
        self._drainer: asyncio.Task[None] | None = None  # the loop keeps only a weak reference
        self._handed_out: dict[str, StatusView] = {}
        self.round_trips = 0  # statements sent; polls / round_trips is the coalescing achieved

    async def get(self, request_id: str) -> StatusView | None:
        future: asyncio.Future[StatusView | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(request_id, []).append(future)
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                try:
                    rows = await self._fetch(list(batch))
                except BaseException as e:
                    for futures in batch.values():
                        for f in futures:
                            if not f.done():
                                f.set_exception(e)
                    if not isinstance(e, Exception):
                        raise
                    continue
                found = {view.id: self._same_as_before(view) for view in map(view_of, rows)}
                for request_id, futures in batch.items():
                    for f in futures:
                        if not f.done():
                            f.set_result(found.get(request_id))
        finally:
            self._drainer = None

    def _same_as_before(self, view: StatusView) -> StatusView:
        """The view handed out last time for this request when nothing in it changed, so that
        callers keeping an encoded answer per view object (FastStatus) can reuse it."""
        before = self._handed_out.get(view.id)
        if before == view:
            return before
        if len(self._handed_out) >= VIEWS_KEPT:
            self._handed_out.clear()
        self._handed_out[view.id] = view
        return view

    async def _fetch(self, ids: list[str]) -> list[Any]:
        import asyncpg

        # A connection the server dropped (restart, killed backend) fails on its next use, in
        # whatever way the driver notices: the batch is then tried once on a fresh connection,
        # so a recovered database answers at once and only a failing fresh one is an error.
        while True:
            reused = self._conn is not None and not self._conn.is_closed()
            try:
                if not reused:
                    await self._discard()
                    self._conn = await asyncpg.connect(self._dsn, timeout=PG_CONNECT_TIMEOUT_S)
                self.round_trips += 1
                return list(await self._conn.fetch(_PG_MANY, ids))
            except Exception as e:
                await self._discard()
                if reused:
                    continue
                if is_unavailable(e):
                    raise StoreUnavailable(f"database unavailable: {e}") from e
                raise

    async def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def close(self) -> None:
        await self._discard()
