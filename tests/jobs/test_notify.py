"""Wake-ups and the change feed: the doorbell itself, then wait_for_work and subscribe against
both databases (PostgreSQL: NOTIFY heard by another store instance; SQLite: in process).

Waits are bounded from above only (a 10 s timeout must return well before it runs out); nothing
asserts how fast."""

from __future__ import annotations

import asyncio
import threading
import time

import asyncpg

from opendream.jobs.notify import EventBus, Subscription, WakeHub
from opendream.jobs.store import SqlRequestStore
from opendream.jobs.testing import _dsn

from .conftest import StoreFactory
from .helpers import SEQ, put

LONG = 10.0  # a timeout the tests must never need
BOUND = 5.0  # woken means: back well before LONG


async def test_wakehub_returns_at_once_if_rung_since_last_look() -> None:
    hub = WakeHub()
    seen = hub.count
    hub.ring()
    assert await hub.wait(seen, timeout_s=LONG) is True


async def test_wakehub_times_out_when_nothing_rings() -> None:
    hub = WakeHub()
    assert await hub.wait(hub.count, timeout_s=0.05) is False


async def test_wakehub_wakes_waiters_from_another_thread() -> None:
    hub = WakeHub()
    seen = hub.count
    ringer = threading.Timer(0.1, hub.ring)
    ringer.start()
    try:
        started = time.monotonic()
        assert await hub.wait(seen, timeout_s=LONG) is True
        assert time.monotonic() - started < BOUND
    finally:
        ringer.cancel()


async def test_eventbus_fans_out_to_every_subscriber() -> None:
    bus = EventBus()
    one, two = bus.subscribe(), bus.subscribe()
    assert bus.subscribers == 2  # registered on the call, before any iteration
    bus.publish("req-1")
    bus.publish("req-2")
    assert await asyncio.wait_for(anext(one), LONG) == "req-1"
    assert [await asyncio.wait_for(anext(two), LONG) for _ in range(2)] == ["req-1", "req-2"]
    await one.aclose()
    async with two:
        pass
    assert bus.subscribers == 0


async def test_eventbus_drops_rather_than_grows_for_a_stalled_reader() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    for i in range(EventBus.MAX_QUEUED + 50):
        bus.publish(f"r{i}")
    await asyncio.sleep(0)  # let the loop deliver
    got = [await asyncio.wait_for(anext(sub), LONG) for _ in range(EventBus.MAX_QUEUED)]
    assert got[0] == "r0" and got[-1] == f"r{EventBus.MAX_QUEUED - 1}"
    assert sub._queue.empty()  # the overflow was dropped, not kept
    await sub.aclose()


async def _timed_wait(store: SqlRequestStore) -> float:
    started = time.monotonic()
    await store.wait_for_work(LONG)
    return time.monotonic() - started


async def test_insert_from_another_store_wakes_a_waiting_worker(
    store: SqlRequestStore, open_store: StoreFactory
) -> None:
    api = await open_store()
    assert await store.claim("w1", [SEQ], lease_s=30) is None  # idle worker

    async def submit_later() -> None:
        await asyncio.sleep(0.2)
        await put(api)

    submit = asyncio.create_task(submit_later())
    waited = await _timed_wait(store)
    await submit
    assert waited < BOUND
    assert await store.claim("w1", [SEQ], lease_s=30) is not None


async def test_insert_between_empty_claim_and_wait_is_not_lost(
    store: SqlRequestStore, open_store: StoreFactory
) -> None:
    api = await open_store()
    assert await store.claim("w1", [SEQ], lease_s=30) is None
    bell = store._signals.work
    rung_before = bell.count
    await put(api)
    for _ in range(200):  # bounded: until the NOTIFY has arrived (SQLite: already rung)
        if bell.count != rung_before:
            break
        await asyncio.sleep(0.025)
    # The bell rang while nobody was waiting; the worker's next wait must not sleep through it.
    assert await _timed_wait(store) < BOUND
    assert await store.claim("w1", [SEQ], lease_s=30) is not None


async def test_release_and_reaper_wake_workers(
    store: SqlRequestStore, open_store: StoreFactory
) -> None:
    other_worker = await open_store()
    row = await put(store)
    assert await store.claim("w1", [SEQ], lease_s=-60) is not None
    assert await other_worker.claim("w2", [SEQ], lease_s=30) is None

    async def reap_later() -> None:
        await asyncio.sleep(0.2)
        await store.reap_expired_leases(max_attempts=3)

    task = asyncio.create_task(reap_later())
    assert await _timed_wait(other_worker) < BOUND
    await task
    got = await other_worker.claim("w2", [SEQ], lease_s=30)
    assert got is not None and got.id == row.id

    assert await other_worker.claim("w2", [SEQ], lease_s=30) is None

    async def release_later() -> None:
        await asyncio.sleep(0.2)
        await other_worker.release(row.id, "w2")

    task = asyncio.create_task(release_later())
    assert await _timed_wait(other_worker) < BOUND
    await task


async def test_wait_for_work_times_out_without_work(store: SqlRequestStore) -> None:
    assert await store.claim("w1", [SEQ], lease_s=30) is None
    await store.wait_for_work(0.1)  # returns (no exception, no hang): the fallback path
    assert await store.claim("w1", [SEQ], lease_s=30) is None


async def _next_ids(feed: Subscription, n: int) -> list[str]:
    return [await asyncio.wait_for(anext(feed), LONG) for _ in range(n)]


async def test_subscribe_sees_changes_made_by_other_stores(
    store: SqlRequestStore, open_store: StoreFactory
) -> None:
    worker = await open_store()
    async with store.subscribe() as feed:
        row = await put(worker)
        await worker.claim("w1", [SEQ], lease_s=30)
        await worker.set_progress(row.id, "w1", {"step": 1})
        await worker.complete(row.id, "w1", ["o.png"], {})
        other = await put(worker)
        await worker.cancel(other.id, other.owner)
        assert await _next_ids(feed, 6) == [row.id] * 4 + [other.id] * 2


async def test_postgres_listener_reconnects_after_its_connection_dies(
    pg_store: SqlRequestStore,
) -> None:
    store = pg_store
    listener = store._listener
    assert listener is not None
    await store.wait_for_work(0)  # starts the listener
    old_pid = listener.backend_pid
    assert old_pid is not None

    admin = await asyncpg.connect(_dsn(store.url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", old_pid)
    finally:
        await admin.close()
    for _ in range(200):  # bounded: until the listener is back on a new connection
        if listener.backend_pid not in (None, old_pid):
            break
        await asyncio.sleep(0.05)
    assert listener.backend_pid not in (None, old_pid)

    async with store.subscribe() as feed:
        other = SqlRequestStore(store.url.render_as_string(hide_password=False))
        try:
            row = await put(other)
        finally:
            await other.close()
        assert await _next_ids(feed, 1) == [row.id]


async def test_no_lost_wakeup_when_claim_runs_in_a_child_task(
    store: SqlRequestStore, open_store: StoreFactory
) -> None:
    api = await open_store()
    # asyncio.wait_for runs the claim in its own task, whose context the caller never sees
    assert await asyncio.wait_for(store.claim("w1", [SEQ], lease_s=30), LONG) is None
    bell = store._signals.work
    rung_before = bell.count
    await put(api)
    for _ in range(200):  # bounded: until the NOTIFY has arrived (SQLite: already rung)
        if bell.count != rung_before:
            break
        await asyncio.sleep(0.025)
    assert await _timed_wait(store) < BOUND
