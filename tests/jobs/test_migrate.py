"""Migrations: the Alembic revisions build exactly the schema `tables.py` describes, upgrading is
idempotent and safe when several processes start at once, and downgrade undoes it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from opendream.jobs.database import make_engine
from opendream.jobs.migrate import current_revision, downgrade, head_revision, upgrade
from opendream.jobs.tables import metadata
from opendream.jobs.testing import drop_database, fresh_postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with nothing in it; on PostgreSQL one of its own, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    request.getfixturevalue("postgres_url")  # fails or skips like the rest of the suite
    url = await fresh_postgres_url()
    try:
        yield url
    finally:
        await drop_database(url)


async def _diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_concurrent_upgrades_build_the_schema_tables_py_describes(empty_db: str) -> None:
    assert await current_revision(empty_db) is None
    # several processes starting at once on an empty database
    await asyncio.gather(*(upgrade(empty_db) for _ in range(3)))
    await upgrade(empty_db)  # and again later: a no-op
    assert await current_revision(empty_db) == head_revision()
    assert {"requests", "api_keys", "files", "workers"} <= await _tables(empty_db)
    assert await _diff(empty_db) == []


async def test_downgrade_to_base_removes_everything(empty_db: str) -> None:
    await upgrade(empty_db)
    await downgrade(empty_db, "base")
    assert await current_revision(empty_db) is None
    assert not ({"requests", "api_keys", "files", "workers"} & await _tables(empty_db))
