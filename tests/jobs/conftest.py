"""One conformance suite, two databases: every test that takes `store` runs on SQLite (a file in
tmp_path) and on PostgreSQL (a throwaway database made for this test session, emptied before
each test). PostgreSQL missing: the PostgreSQL half fails in CI (or OPENDREAM_REQUIRE_POSTGRES=1)
and is skipped, with the reason printed at the end, elsewhere."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from opendream.jobs.migrate import upgrade
from opendream.jobs.store import SqlRequestStore
from opendream.jobs.testing import (
    drop_database,
    fresh_postgres_url,
    postgres_problem,
    postgres_required,
    truncate_all,
)

R = TypeVar("R")
_skip_reasons: list[str] = []


def run_outside_loop(coro: Awaitable[R]) -> R:
    """Runs a coroutine to completion on its own loop in a helper thread, so session-scoped
    set-up never touches the event loop pytest-asyncio gives each test."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as e:
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database of its own for this test session."""
    problem = run_outside_loop(postgres_problem())
    if problem is not None:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required here (CI / OPENDREAM_REQUIRE_POSTGRES): {problem}")
        _skip_reasons.append(problem)
        pytest.skip(problem)
    url = run_outside_loop(fresh_postgres_url())
    try:
        run_outside_loop(upgrade(url))
        yield url
    finally:
        run_outside_loop(drop_database(url))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for reason in dict.fromkeys(_skip_reasons):
        terminalreporter.write_line(f"jobs: PostgreSQL tests skipped: {reason}", yellow=True)


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'requests.db'}"
    url: str = request.getfixturevalue("postgres_url")
    await truncate_all(url)
    return url


StoreFactory = Callable[[], Awaitable[SqlRequestStore]]


@pytest.fixture
async def open_store(db_url: str) -> AsyncIterator[StoreFactory]:
    """Opens more stores on the same database (another API replica, another worker host)."""
    opened: list[SqlRequestStore] = []

    async def factory() -> SqlRequestStore:
        s = SqlRequestStore(db_url)
        await s.start()
        opened.append(s)
        return s

    yield factory
    for s in opened:
        await s.close()


@pytest.fixture
async def store(open_store: StoreFactory) -> SqlRequestStore:
    return await open_store()


@pytest.fixture
async def pg_store(postgres_url: str) -> AsyncIterator[SqlRequestStore]:
    """For the few tests about PostgreSQL itself (LISTEN connection, pool recovery)."""
    await truncate_all(postgres_url)
    s = SqlRequestStore(postgres_url)
    await s.start()
    try:
        yield s
    finally:
        await s.close()
