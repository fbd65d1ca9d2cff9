"""Schema migrations (Alembic), run from code: `opendream db upgrade` and `RequestStore.start()`
call `upgrade`. No alembic.ini is needed; the scripts live in `opendream/jobs/migrations/`.

Several processes may start at once (API replicas, workers). On PostgreSQL they queue on an
advisory lock and the later ones find the schema already at head; on SQLite the migration runs in
a BEGIN IMMEDIATE transaction, which serialises them the same way.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from opendream.jobs.database import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x6F70656E64726561  # "opendrea": any constant shared by every opendream process


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(url: str, revision: str = "head") -> None:
    """Brings the database at `url` to `revision` (default: the newest)."""
    engine = make_engine(url)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()


async def downgrade(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await _lock(conn)
            await conn.run_sync(_run, "downgrade", revision)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    finally:
        await engine.dispose()


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await _lock(conn)
        await conn.run_sync(_run, "upgrade", revision)


async def _lock(conn: sa.ext.asyncio.AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def _run(conn: sa.Connection, direction: str, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    getattr(command, direction)(cfg, revision)


def main() -> None:  # pragma: no cover - convenience for developers
    import sys

    from opendream.config import load_settings

    url = sys.argv[1] if len(sys.argv) > 1 else load_settings().resolved_database_url
    asyncio.run(upgrade(url))
    print(f"database at revision {head_revision()}")


if __name__ == "__main__":  # pragma: no cover
    main()
