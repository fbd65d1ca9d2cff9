"""Engines for the two supported databases, and what counts as "the database is unavailable".

SQLite: WAL, a busy timeout, and explicit BEGINs. The stdlib driver's own transaction handling
starts write transactions lazily, which lets two processes both read and then fail to upgrade to
a write (SQLITE_BUSY without waiting); writers here say BEGIN IMMEDIATE up front instead, and
read-only work says a plain BEGIN so readers never block writers.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

READ_ONLY = "opendream_read_only"  # execution option: plain BEGIN on SQLite
# execution option, with READ_ONLY: the connection runs one statement, which is atomic on its own,
# so SQLite gets no BEGIN at all (one thread hand-off less per read)
SINGLE_STATEMENT = "opendream_single_statement"
SQLITE_BUSY_TIMEOUT_S = 30.0


def normalise_url(url: str) -> URL:
    """Accepts the async URLs and the plain ones people write (sqlite:///, postgresql://)."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        return u.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return u.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database URL {u.render_as_string()!r}: use sqlite or postgresql")


def sqlite_path(url: URL) -> Path | None:
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db).expanduser().resolve()


def make_engine(url: str) -> AsyncEngine:
    u = normalise_url(url)
    if u.get_backend_name() == "sqlite":
        return _sqlite_engine(u)
    engine = create_async_engine(
        u,
        pool_size=5,
        max_overflow=10,
        pool_timeout=10,
        connect_args={"timeout": 10, "command_timeout": 60},
    )
    _ping_on_checkout(engine)
    return engine


def _ping_on_checkout(engine: AsyncEngine) -> None:
    """Recovers transparently after a PostgreSQL restart (or killed backends), like
    `pool_pre_ping`, in one round trip instead of three: SQLAlchemy's ping wraps its `SELECT`
    in BEGIN / ROLLBACK (for pgbouncer's transaction mode, which we do not use), so the ping
    runs in autocommit here. A connection that fails it is discarded by the pool, which opens
    another; one that breaks while in use is caught by SQLAlchemy's disconnect handling."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        prior = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            dbapi_connection.ping()
        except Exception as e:
            raise sa.exc.DisconnectionError(f"stale pooled connection: {e}") from e
        finally:
            dbapi_connection.autocommit = prior


def _sqlite_engine(u: URL) -> AsyncEngine:
    path = sqlite_path(u)
    if path is not None:
        # A directory we cannot create shows up as "unable to open" (StoreUnavailable) on use.
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        u,
        # No pre-ping: a local file does not drop connections, and a ping per checkout would be
        # one more thread hand-off on every status call.
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module doc)
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        options = conn.get_execution_options()
        if options.get(READ_ONLY):
            if not options.get(SINGLE_STATEMENT):
                conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o", "readonly", "full")


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database could not be reached or used right now, as opposed to a
    bug (a bad statement, a constraint). Walks the cause chain: SQLAlchemy wraps driver errors."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if _unavailable_here(e):
            return True
        nxt = getattr(e, "orig", None)
        e = nxt if isinstance(nxt, BaseException) else (e.__cause__ or e.__context__)
    return False


def _unavailable_here(e: BaseException) -> bool:
    if isinstance(e, sqlite3.OperationalError):
        msg = str(e).lower()
        return any(m in msg for m in _SQLITE_UNAVAILABLE)
    if isinstance(e, sqlite3.Error):
        return False
    if isinstance(e, sa.exc.DBAPIError) and e.connection_invalidated:
        return True
    if isinstance(e, sa.exc.TimeoutError | sa.exc.DisconnectionError):
        return True  # pool exhausted / connection lost
    if isinstance(e, sa.exc.InterfaceError):
        return True
    if isinstance(e, sa.exc.OperationalError) and not isinstance(
        getattr(e, "orig", None), sqlite3.Error
    ):
        return True
    if isinstance(e, OSError | TimeoutError | ConnectionError):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    return isinstance(
        e,
        asyncpg.PostgresConnectionError
        | asyncpg.InterfaceError
        | asyncpg.exceptions.OperatorInterventionError  # admin shutdown, starting up, crash
        | asyncpg.exceptions.InsufficientResourcesError  # too many connections, disk full
        | asyncpg.exceptions.ConnectionDoesNotExistError,
    )
