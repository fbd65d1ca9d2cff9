"""Throwaway PostgreSQL databases for tests (this suite, the e2e tests, the chaos tests).

    url = await fresh_postgres_url()      # postgresql+asyncpg://.../opendream_test_<random>
    ...
    await drop_database(url)

The server comes from OPENDREAM_TEST_POSTGRES_URL (any database on it that we may connect to,
used only to CREATE/DROP), default postgresql://postgres@127.0.0.1:5432/postgres. Each call gets
its own database, so concurrent test runs on one server never see each other's rows.
"""

from __future__ import annotations

import os
import secrets

from sqlalchemy.engine import URL, make_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = "opendream_test_"


def admin_url() -> URL:
    return make_url(os.environ.get("OPENDREAM_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL))


def postgres_required() -> bool:
    """In CI (or when asked) a missing PostgreSQL is a failure, never a silent skip."""
    return bool(os.environ.get("CI")) or os.environ.get("OPENDREAM_REQUIRE_POSTGRES") == "1"


def _dsn(u: URL) -> str:
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin_connect(timeout: float = 5.0):  # type: ignore[no-untyped-def]
    import asyncpg

    return await asyncpg.connect(_dsn(admin_url()), timeout=timeout)


async def postgres_problem() -> str | None:
    """None when the test server answers, else why not (for a skip or failure message)."""
    try:
        conn = await _admin_connect(timeout=3.0)
    except Exception as e:
        u = admin_url()
        return (
            f"PostgreSQL at {u.host}:{u.port or 5432} is not reachable ({type(e).__name__}: {e}); "
            "start it (`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`)"
            " or point OPENDREAM_TEST_POSTGRES_URL at one"
        )
    await conn.close()
    return None


async def fresh_postgres_url() -> str:
    """Creates an empty database and returns its SQLAlchemy URL (postgresql+asyncpg)."""
    name = PREFIX + secrets.token_hex(6)
    conn = await _admin_connect()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = admin_url().set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    """Drops a database made by `fresh_postgres_url`, closing whatever is still connected."""
    name = make_url(url).database
    if not name or not name.startswith(PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a database made by fresh_postgres_url")
    conn = await _admin_connect()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def truncate_all(url: str) -> None:
    """Empties every opendream table of a test database (faster than a new database per test)."""
    import asyncpg

    conn = await asyncpg.connect(_dsn(make_url(url)), timeout=5)
    try:
        await conn.execute("TRUNCATE requests, api_keys, files, workers RESTART IDENTITY")
    finally:
        await conn.close()
