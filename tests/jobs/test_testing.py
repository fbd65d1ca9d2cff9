"""The throwaway-database helpers other suites use for PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from opendream.jobs.testing import _dsn, admin_url, drop_database, fresh_postgres_url


async def _exists(name: str) -> bool:
    conn = await asyncpg.connect(_dsn(admin_url()))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def test_fresh_database_is_created_and_dropped(postgres_url: str) -> None:
    url = await fresh_postgres_url()
    name = make_url(url).database
    assert name is not None and name.startswith("opendream_test_")
    assert make_url(url).drivername == "postgresql+asyncpg"
    assert await _exists(name)
    held = await asyncpg.connect(_dsn(make_url(url)))  # a leftover connection does not block it
    try:
        await drop_database(url)
    finally:
        await held.close()
    assert not await _exists(name)


async def test_drop_refuses_databases_it_did_not_make() -> None:
    with pytest.raises(ValueError, match="refusing"):
        await drop_database("postgresql+asyncpg://postgres@127.0.0.1:5432/test")
