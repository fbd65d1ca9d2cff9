"""URLs, engines, and the one exception the API turns into 503."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa

from opendream.jobs import StoreUnavailable, open_store
from opendream.jobs.database import is_unavailable, normalise_url
from opendream.jobs.store import SqlRequestStore
from opendream.jobs.testing import _dsn

from .helpers import SEQ, put

DEAD_PG = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"


def test_plain_urls_get_the_async_drivers() -> None:
    assert normalise_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert normalise_url("postgresql+asyncpg://u@h/db").drivername == "postgresql+asyncpg"
    with pytest.raises(ValueError, match="sqlite or postgresql"):
        normalise_url("mysql://u@h/db")


async def test_unreachable_postgres_raises_store_unavailable() -> None:
    store = open_store(DEAD_PG)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.get("x")
        with pytest.raises(StoreUnavailable):
            await put(store)
        with pytest.raises(StoreUnavailable):
            await store.claim("w1", [SEQ], lease_s=30)
        with pytest.raises(StoreUnavailable):
            await store.start()
        assert not await store.ping()
        assert time.monotonic() - started < 120  # refused, not hanging
    finally:
        await store.close()


async def test_unopenable_sqlite_raises_store_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    store = SqlRequestStore(f"sqlite+aiosqlite:///{blocker}/sub/requests.db")
    try:
        with pytest.raises(StoreUnavailable):
            await store.start()
        with pytest.raises(StoreUnavailable):
            await store.get("x")
        assert not await store.ping()
    finally:
        await store.close()
        # aiosqlite stops a connection that failed to open without waiting for its thread;
        # let those threads finish before pytest closes this test's event loop.
        await asyncio.sleep(0.2)


async def test_bugs_are_not_disguised_as_unavailability(store: SqlRequestStore) -> None:
    with pytest.raises(sa.exc.DBAPIError) as e:
        async with store._read() as conn:
            await conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert not isinstance(e.value, StoreUnavailable)
    assert not is_unavailable(e.value)


def test_classification() -> None:
    assert is_unavailable(sqlite3.OperationalError("database is locked"))
    assert not is_unavailable(sqlite3.OperationalError('near "SELEC": syntax error'))
    assert not is_unavailable(sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert is_unavailable(ConnectionRefusedError(111, "refused"))
    assert is_unavailable(asyncpg.exceptions.CannotConnectNowError("starting up"))
    assert is_unavailable(asyncpg.exceptions.AdminShutdownError("terminating"))
    assert not is_unavailable(asyncpg.exceptions.UniqueViolationError("dup"))
    assert not is_unavailable(ValueError("x"))


async def test_postgres_pool_recovers_after_its_connections_are_killed(
    pg_store: SqlRequestStore,
) -> None:
    store = pg_store
    row = await put(store)
    assert await store.get(row.id) is not None  # the pool now holds a connection
    admin = await asyncpg.connect(_dsn(store.url))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert killed >= 1
    # pool_pre_ping replaces the dead connections: the next calls just work
    got = await store.get(row.id)
    assert got is not None and got.id == row.id
    assert await store.claim("w1", [SEQ], lease_s=30) is not None
