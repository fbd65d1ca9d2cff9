"""Following one request as it changes: the row now, then again after every change.

Changes are heard through `store.subscribe()` (NOTIFY on PostgreSQL, in-process on SQLite); a slow
poll covers what notifications cannot reach (SQLite shared between processes) or dropped. Every
reader re-reads the row, so a missed or repeated notification costs nothing but a query.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from opendream.jobs.base import FINISHED, RequestRow, RequestStore


def _state(row: RequestRow) -> tuple[Any, ...]:
    return (
        row.status,
        row.attempts,
        row.progress,
        row.outputs,
        row.error,
        row.expired,
        row.started_at,
        row.finished_at,
    )


async def watch(
    store: RequestStore,
    request_id: str,
    owner: str | None,
    *,
    poll_s: float,
    tick: Callable[[], Awaitable[None]] | None = None,
    queued_every_s: float | None = None,
) -> AsyncIterator[RequestRow]:
    """Yields the row at once, then each time its state changes; ends when the row is gone.

    `tick` runs on every wake-up (a notification, or the poll), e.g. to notice a client that
    went away; it may raise to stop the watch. `queued_every_s`: while the row waits in the
    queue, also yield it again (unchanged) after changes to other requests, at most this often,
    so a caller can follow its queue position."""
    subscription = store.subscribe()  # before the first read: nothing in between is missed
    try:
        row = await store.get(request_id, owner)
        if row is None:
            return
        yield row
        last, yielded_at = _state(row), time.monotonic()

        def queued_refresh_due() -> bool:
            return (
                queued_every_s is not None
                and last[0] == "in_queue"
                and time.monotonic() - yielded_at >= queued_every_s
            )

        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_s):
                    async for changed in subscription:
                        if changed == request_id or queued_refresh_due():
                            break
            if tick is not None:
                await tick()
            row = await store.get(request_id, owner)
            if row is None:
                return
            if _state(row) != last or queued_refresh_due():
                last, yielded_at = _state(row), time.monotonic()
                yield row
    finally:
        await subscription.aclose()


async def wait_finished(
    store: RequestStore,
    request_id: str,
    owner: str | None,
    *,
    timeout_s: float,
    poll_s: float,
    tick: Callable[[], Awaitable[None]] | None = None,
) -> RequestRow | None:
    """The row once finished, or as it stands when `timeout_s` runs out; None if it is gone."""
    deadline = time.monotonic() + max(0.0, timeout_s)
    latest: RequestRow | None = None
    rows = watch(store, request_id, owner, poll_s=poll_s, tick=tick)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(_loop_deadline(deadline)):
                async for row in rows:
                    latest = row
                    if row.status in FINISHED:
                        break
    finally:
        await rows.aclose()  # type: ignore[attr-defined]
    if latest is not None and latest.status not in FINISHED:
        # The wait ended between two notifications: one last look.
        latest = await store.get(request_id, owner) or latest
    return latest


def _loop_deadline(monotonic_deadline: float) -> float:
    loop = asyncio.get_running_loop()
    return loop.time() + (monotonic_deadline - time.monotonic())
