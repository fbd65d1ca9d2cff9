"""The status call's read path (`status_view`): the same answers as the pooled statement, never
staler than the call, on SQLite and PostgreSQL (see conftest); then what is particular to each:
SQLite's fallback when the file is busy, PostgreSQL's coalescing and its recovery from a dropped
connection."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time

import asyncpg

from opendream.jobs.base import StatusView
from opendream.jobs.database import sqlite_path
from opendream.jobs.status_reads import PostgresStatusReads
from opendream.jobs.store import SqlRequestStore

from .helpers import EDIT, SEQ, put

WORKER = "w1"


async def test_views_follow_every_state_and_count_the_queue_across_models(
    store: SqlRequestStore,
) -> None:
    a, b, c = await put(store), await put(store, model=EDIT), await put(store)
    views = [await store.status_view(r.id, "key_a") for r in (a, b, c)]
    assert views == [
        StatusView(a.id, "key_a", "in_queue", None, 0),
        StatusView(b.id, "key_a", "in_queue", None, 1),
        StatusView(c.id, "key_a", "in_queue", None, 2),
    ]
    claimed = await store.claim(WORKER, [SEQ], 60)
    assert claimed is not None and claimed.id == a.id
    progress = {"step": 1, "steps": 4, "image": 1, "images": 2}
    assert await store.set_progress(a.id, WORKER, progress)
    # read right after each write: the read path sees every commit made before the call
    assert await store.status_view(a.id, "key_a") == StatusView(
        a.id, "key_a", "in_progress", progress, 0
    )
    assert (await store.status_view(c.id, "key_a")).queue_position == 1  # type: ignore[union-attr]
    assert (await store.cancel(b.id, "key_a"))[0]
    assert (await store.status_view(b.id, "key_a")).status == "cancelled"  # type: ignore[union-attr]
    assert (await store.status_view(c.id, "key_a")).queue_position == 0  # type: ignore[union-attr]
    assert await store.complete(a.id, WORKER, ["out/0.png"], {})
    assert (await store.status_view(a.id, "key_a")).status == "succeeded"  # type: ignore[union-attr]


async def test_unknown_and_foreign_ids_read_as_none(store: SqlRequestStore) -> None:
    row = await put(store, owner="key_a")
    assert await store.status_view(row.id, "key_b") is None
    assert await store.status_view("no-such-request", "key_a") is None
    assert await store.status_view("'; DROP TABLE requests; --", "key_a") is None
    assert await store.get(row.id) is not None


async def test_many_concurrent_reads_each_get_their_own_answer(store: SqlRequestStore) -> None:
    rows = [await put(store, owner=f"key_{i % 3}") for i in range(30)]
    asks = [(r.id, f"key_{i % 3}") for i, r in enumerate(rows)]
    asks += [(rows[0].id, "key_1"), ("missing", "key_0")] * 5
    views = await asyncio.gather(*(store.status_view(rid, owner) for rid, owner in asks))
    for (rid, owner), view in zip(asks, views, strict=True):
        if rid == "missing" or owner != rows[[r.id for r in rows].index(rid)].owner:
            assert view is None
        else:
            assert view is not None and view.id == rid and view.owner == owner
    assert [v.queue_position for v in views[:30] if v is not None] == list(range(30))


async def test_sqlite_busy_file_falls_back_to_waiting_in_a_thread(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SqlRequestStore(f"sqlite:///{tmp_path / 'busy.db'}")
    await store.start()
    try:
        row = await put(store)
        assert (await store.status_view(row.id, "key_a")).queue_position == 0  # type: ignore[union-attr]
        path = sqlite_path(store.url)
        assert path is not None
        # An exclusive-mode writer shuts every other connection out of a WAL file, readers too,
        # for as long as it holds its lock: longer than the quick read waits. It can only take
        # that lock while no other connection is open, so the store's are closed first (both
        # paths reopen on their next use).
        await store._engine.dispose()
        assert store._status_reads is not None
        await store._status_reads.close()
        locked, release = threading.Event(), threading.Event()

        def hold_lock() -> None:
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
            locked.set()
            release.wait(10)
            conn.execute("COMMIT")
            conn.close()

        holder = threading.Thread(target=hold_lock)
        holder.start()
        assert locked.wait(10)
        asyncio.get_running_loop().call_later(0.3, release.set)
        started = time.monotonic()
        view = await store.status_view(row.id, "key_a")
        waited = time.monotonic() - started
        holder.join(10)
        assert view is not None and view.status == "in_queue"
        assert waited >= 0.25  # it was answered after the lock went, by the pooled path
    finally:
        await store.close()


async def test_postgres_coalesces_concurrent_polls_into_few_round_trips(
    pg_store: SqlRequestStore, postgres_url: str
) -> None:
    rows = [await put(pg_store) for _ in range(40)]
    reads = pg_store._status_reads
    assert isinstance(reads, PostgresStatusReads)
    before = reads.round_trips
    views = await asyncio.gather(*(pg_store.status_view(r.id, "key_a") for r in rows))
    assert [v.queue_position for v in views if v is not None] == list(range(40))
    # the first poll starts a round trip alone; the 39 that arrive meanwhile share the next one
    assert reads.round_trips - before <= 3


async def test_postgres_reads_survive_a_killed_connection(
    pg_store: SqlRequestStore, postgres_url: str
) -> None:
    row = await put(pg_store)
    assert await pg_store.status_view(row.id, "key_a") is not None
    dsn = pg_store.url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND query LIKE '%= ANY($1::text[])%'"
        )
    finally:
        await admin.close()
    assert killed >= 1
    # the next poll finds the connection dead and is answered on a fresh one, without a 503
    view = await pg_store.status_view(row.id, "key_a")
    assert view is not None and view.status == "in_queue"


async def test_sqlite_keeps_views_until_any_connection_commits(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SqlRequestStore(f"sqlite:///{tmp_path / 'kept.db'}")
    await store.start()
    try:
        row = await put(store)
        first = await store.status_view(row.id, "key_a")
        assert first is not None and await store.status_view(row.id, "key_a") is first
        # a commit from another process, which nothing in this one hears of, is seen at once
        path = sqlite_path(store.url)
        script = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute(\"UPDATE requests SET status = 'cancelled' WHERE id = ?\", (sys.argv[2],))"
        )
        done = subprocess.run([sys.executable, "-c", script, str(path), row.id], timeout=30)
        assert done.returncode == 0
        after = await store.status_view(row.id, "key_a")
        assert after is not None and after.status == "cancelled" and after is not first
    finally:
        await store.close()


async def test_postgres_hands_out_the_same_view_while_nothing_changes(
    pg_store: SqlRequestStore,
) -> None:
    row = await put(pg_store)
    first = await pg_store.status_view(row.id, "key_a")
    assert first is not None and await pg_store.status_view(row.id, "key_a") is first
    assert (await pg_store.cancel(row.id, "key_a"))[0]
    after = await pg_store.status_view(row.id, "key_a")
    assert after is not None and after.status == "cancelled" and after is not first
