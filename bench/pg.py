"""Throwaway PostgreSQL databases for the suites that compare SQLite with PostgreSQL (the jobs
layer's own helpers, run from synchronous code)."""

from __future__ import annotations

import asyncio


def postgres_problem() -> str | None:
    """None when the server answers, else why not (the suite then says so in its notes)."""
    from opendream.jobs.testing import postgres_problem as problem

    return asyncio.run(problem())


def fresh_postgres() -> str:
    from opendream.jobs.testing import fresh_postgres_url

    return asyncio.run(fresh_postgres_url())


def drop_postgres(url: str) -> None:
    from opendream.jobs.testing import drop_database

    asyncio.run(drop_database(url))
