"""Fixtures for fleet tests (imported by the fleet and chaos test modules): a throwaway
PostgreSQL database and Fleets that are always stopped. PostgreSQL missing: the tests fail in
CI (or OPENDREAM_REQUIRE_POSTGRES=1) and skip elsewhere."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opendream.jobs.testing import (
    drop_database,
    fresh_postgres_url,
    postgres_problem,
    postgres_required,
)
from tests.e2e.fleet import Fleet


def require_postgres() -> None:
    problem = asyncio.run(postgres_problem())
    if problem is None:
        return
    if postgres_required():
        pytest.fail(f"PostgreSQL is required here (CI / OPENDREAM_REQUIRE_POSTGRES): {problem}")
    pytest.skip(problem)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (the API migrates it on start); dropped afterwards."""
    require_postgres()
    url = asyncio.run(fresh_postgres_url())
    try:
        yield url
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture
def fleet_factory(
    tmp_path: Path, tiny_klein_dir: Path, pg_database: str
) -> Iterator[Callable[..., Fleet]]:
    made: list[Fleet] = []

    def make(**kwargs) -> Fleet:  # type: ignore[no-untyped-def]
        root = tmp_path / f"fleet{len(made)}"
        root.mkdir()
        fleet = Fleet(root=root, database_url=pg_database, model_dir=tiny_klein_dir, **kwargs)
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        fleet.stop_all()
