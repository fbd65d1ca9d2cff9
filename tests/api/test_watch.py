"""Following one row: at once, on each change (notified), by the poll when nothing notifies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opendream.api.watch import wait_finished, watch
from opendream.jobs.notify import Signals
from opendream.jobs.store import SqlRequestStore

SEQ = "bytedance/seedream-4-0/sequential"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlRequestStore]:
    s = SqlRequestStore(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await s.start()
    yield s
    await s.close()


async def test_yields_now_and_on_each_change(store: SqlRequestStore) -> None:
    row = await store.insert(owner="k", model_id=SEQ, input={}, input_blobs=[])
    rows = watch(store, row.id, "k", poll_s=30)  # a long poll: only notifications move it
    assert (await anext(rows)).status == "in_queue"
    await store.claim("w", [SEQ], 30)
    assert (await asyncio.wait_for(anext(rows), 5)).status == "in_progress"
    await store.set_progress(row.id, "w", {"step": 1})
    assert (await asyncio.wait_for(anext(rows), 5)).progress == {"step": 1}
    await rows.aclose()  # type: ignore[attr-defined]
    assert store._signals.events.subscribers == 0  # type: ignore[attr-defined]


async def test_another_owner_sees_nothing(store: SqlRequestStore) -> None:
    row = await store.insert(owner="k", model_id=SEQ, input={}, input_blobs=[])
    assert [r async for r in watch(store, row.id, "someone-else", poll_s=1)] == []


async def test_the_poll_covers_changes_nobody_notified(store: SqlRequestStore) -> None:
    row = await store.insert(owner="k", model_id=SEQ, input={}, input_blobs=[])
    rows = watch(store, row.id, "k", poll_s=0.05)
    await anext(rows)
    other = SqlRequestStore(store.url.render_as_string(hide_password=False))
    other._signals = Signals()  # type: ignore[attr-defined]  # another process: unheard
    await other.start()
    try:
        await other.claim("w", [SEQ], 30)
        assert (await asyncio.wait_for(anext(rows), 5)).status == "in_progress"
    finally:
        await rows.aclose()  # type: ignore[attr-defined]
        await other.close()


async def test_wait_finished_and_its_timeout(store: SqlRequestStore) -> None:
    row = await store.insert(owner="k", model_id=SEQ, input={}, input_blobs=[])
    pending = await wait_finished(store, row.id, "k", timeout_s=0.1, poll_s=0.05)
    assert pending is not None and pending.status == "in_queue"

    async def finish() -> None:
        await asyncio.sleep(0.05)
        await store.claim("w", [SEQ], 30)
        await store.complete(row.id, "w", ["o"], {})

    task = asyncio.create_task(finish())
    done = await wait_finished(store, row.id, "k", timeout_s=10, poll_s=30)
    await task
    assert done is not None and done.status == "succeeded" and done.outputs == ["o"]


async def test_a_tick_can_stop_the_wait(store: SqlRequestStore) -> None:
    row = await store.insert(owner="k", model_id=SEQ, input={}, input_blobs=[])

    class Gone(Exception):
        pass

    async def tick() -> None:
        raise Gone

    with pytest.raises(Gone):
        await wait_finished(store, row.id, "k", timeout_s=10, poll_s=0.01, tick=tick)
