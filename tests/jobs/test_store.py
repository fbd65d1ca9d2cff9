"""The request table: insert, read, isolation, idempotency, cancel, the worker's guarded writes,
retention and counts. Runs on SQLite and PostgreSQL (see conftest)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from opendream.jobs.store import SqlRequestStore

from .helpers import EDIT, SEQ, put


async def test_insert_then_get_round_trips_every_field(store: SqlRequestStore) -> None:
    body = {"prompt": "ünïcode ✓ 灯塔", "size": {"w": 1024}, "seed": None, "n": [1, 2.5, True]}
    row = await put(store, input=body, input_blobs=["in/a.png", "in/b.png"], extra={"webhook": "x"})
    assert row.status == "in_queue"
    assert row.attempts == 0
    assert row.created_at.tzinfo is not None and row.created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - row.created_at) < timedelta(minutes=5)

    got = await store.get(row.id)
    assert got == row
    assert got is not None
    assert got.input == body
    assert got.input_blobs == ["in/a.png", "in/b.png"]
    assert got.extra == {"webhook": "x"}
    assert got.metadata == {} and got.progress is None and got.outputs is None


async def test_request_ids_are_random_and_url_safe(store: SqlRequestStore) -> None:
    ids = {(await put(store)).id for _ in range(5)}
    assert len(ids) == 5
    for i in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", i)


async def test_explicit_request_id_is_kept(store: SqlRequestStore) -> None:
    row = await put(store, request_id="0f4d3c9e-1111-4a4a-8b8b-000000000001")
    assert row.id == "0f4d3c9e-1111-4a4a-8b8b-000000000001"
    assert (await store.get(row.id)) is not None


async def test_other_owners_see_nothing(store: SqlRequestStore) -> None:
    row = await put(store, owner="key_a")
    assert await store.get(row.id, owner="key_a") is not None
    assert await store.get(row.id, owner="key_b") is None
    assert await store.get("no-such-id") is None
    assert await store.cancel(row.id, "key_b") == (False, None)
    still = await store.get(row.id)
    assert still is not None and still.status == "in_queue"
    assert await store.list_for_owner("key_b") == []


async def test_idempotency_key_finds_and_deduplicates(store: SqlRequestStore) -> None:
    first = await put(store, owner="key_a", idempotency_key="abc")
    assert await store.find_by_idempotency_key("key_a", "abc") == first
    assert await store.find_by_idempotency_key("key_b", "abc") is None

    again = await put(store, owner="key_a", idempotency_key="abc")
    assert again.id == first.id
    other_owner = await put(store, owner="key_b", idempotency_key="abc")
    assert other_owner.id != first.id
    assert len(await store.list_for_owner("key_a")) == 1


async def test_list_for_owner_newest_first_with_cursor(store: SqlRequestStore) -> None:
    rows = [await put(store, owner="key_a") for _ in range(5)]
    await put(store, owner="key_b")
    listed = await store.list_for_owner("key_a")
    assert [r.id for r in listed] == [r.id for r in reversed(rows)]
    page = await store.list_for_owner("key_a", limit=2, before=rows[3].id)
    assert [r.id for r in page] == [rows[2].id, rows[1].id]


async def test_queue_position_counts_rows_ahead(store: SqlRequestStore) -> None:
    a = await put(store, model=SEQ)
    b = await put(store, model=EDIT)
    c = await put(store, model=SEQ)
    assert [await store.queue_position(r) for r in (a, b, c)] == [0, 1, 2]
    # narrowed to the models one worker serves
    assert await store.queue_position(c, model_ids=[SEQ]) == 1

    claimed = await store.claim("w1", [SEQ, EDIT], lease_s=30)
    assert claimed is not None and claimed.id == a.id
    assert await store.queue_position(a) == 0  # no longer queued
    assert [await store.queue_position(r) for r in (b, c)] == [0, 1]
    assert (await store.cancel(b.id, b.owner))[0]
    assert await store.queue_position(c) == 0


async def test_cancel_only_while_queued(store: SqlRequestStore) -> None:
    row = await put(store)
    ok, after = await store.cancel(row.id, row.owner)
    assert ok and after is not None
    assert after.status == "cancelled" and after.finished_at is not None
    # a second cancel is not a second success
    ok2, again = await store.cancel(row.id, row.owner)
    assert not ok2 and again is not None and again.status == "cancelled"
    # a cancelled row is never claimed
    assert await store.claim("w1", [SEQ], lease_s=30) is None

    running = await put(store)
    assert await store.claim("w1", [SEQ], lease_s=30) is not None
    ok3, now = await store.cancel(running.id, running.owner)
    assert not ok3 and now is not None and now.status == "in_progress"
    assert await store.cancel("missing", "key_a") == (False, None)


async def test_worker_writes_are_guarded_by_worker_and_status(store: SqlRequestStore) -> None:
    row = await put(store)
    claimed = await store.claim("w1", [SEQ], lease_s=30)
    assert claimed is not None and claimed.id == row.id

    assert not await store.set_progress(row.id, "w2", {"step": 1})
    assert await store.set_progress(row.id, "w1", {"step": 1, "steps": 4, "image": 1, "images": 2})
    assert not await store.heartbeat(row.id, "w2", 30)
    assert await store.heartbeat(row.id, "w1", 60)
    assert not await store.complete(row.id, "w2", ["out/x.png"], {})
    assert not await store.fail(row.id, "w2", "nope", {})

    got = await store.get(row.id)
    assert got is not None and got.status == "in_progress"
    assert got.progress == {"step": 1, "steps": 4, "image": 1, "images": 2}

    assert await store.complete(row.id, "w1", ["out/0.png", "out/1.png"], {"seed": 7})
    done = await store.get(row.id)
    assert done is not None
    assert done.status == "succeeded"
    assert done.outputs == ["out/0.png", "out/1.png"]
    assert done.metadata == {"seed": 7}
    assert done.finished_at is not None and done.started_at is not None
    assert done.started_at <= done.finished_at
    assert done.lease_until is None
    # finished: nothing moves it again
    assert not await store.fail(row.id, "w1", "late", {})
    assert not await store.complete(row.id, "w1", [], {})
    assert not await store.heartbeat(row.id, "w1", 30)


async def test_fail_records_error(store: SqlRequestStore) -> None:
    row = await put(store)
    await store.claim("w1", [SEQ], lease_s=30)
    assert await store.fail(row.id, "w1", "out of memory", {"stage": "decode"})
    got = await store.get(row.id)
    assert got is not None
    assert (got.status, got.error, got.metadata) == ("failed", "out of memory", {"stage": "decode"})
    assert got.finished_at is not None


async def test_update_extra_merges(store: SqlRequestStore) -> None:
    row = await put(store, extra={"webhook": {"url": "u"}, "n": 1})
    await store.update_extra(row.id, {"n": 2, "deliveries": [{"status": 200}]})
    got = await store.get(row.id)
    assert got is not None
    assert got.extra == {"webhook": {"url": "u"}, "n": 2, "deliveries": [{"status": 200}]}
    await store.update_extra("missing", {"x": 1})  # no such row: nothing happens


async def test_retention_queries(store: SqlRequestStore) -> None:
    done = await put(store)
    await store.claim("w1", [SEQ], lease_s=30)
    await store.complete(done.id, "w1", ["o.png"], {})
    cancelled = await put(store)
    await store.cancel(cancelled.id, cancelled.owner)
    queued = await put(store)

    later = datetime.now(UTC) + timedelta(seconds=5)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    assert await store.finished_before(earlier) == []
    found = await store.finished_before(later)
    assert {r.id for r in found} == {done.id, cancelled.id}
    assert queued.id not in {r.id for r in found}
    assert len(await store.finished_before(later, limit=1)) == 1

    await store.mark_expired(done.id)
    got = await store.get(done.id)
    assert got is not None and got.expired and got.outputs == ["o.png"]
    assert {r.id for r in await store.finished_before(later)} == {cancelled.id}


async def test_counts(store: SqlRequestStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    for _ in range(3):
        await put(store, owner="key_a", model=SEQ)
    await put(store, owner="key_a", model=EDIT)
    await put(store, owner="key_b", model=EDIT)
    claimed = await store.claim("w1", [SEQ], lease_s=30)
    assert claimed is not None

    assert await store.count_recent("key_a", before) == 4
    assert await store.count_recent("key_a", datetime.now(UTC) + timedelta(seconds=5)) == 0
    assert await store.count_queued("key_a") == 3
    assert await store.count_queued("key_b") == 1
    assert await store.counts_by_status() == {
        (SEQ, "in_queue"): 2,
        (SEQ, "in_progress"): 1,
        (EDIT, "in_queue"): 2,
    }


async def test_worker_heartbeats(store: SqlRequestStore) -> None:
    await store.worker_beat("w1", {"device": "cuda:0", "models": [SEQ]})
    await store.worker_beat("w2", {"device": "cuda:1"})
    await store.worker_beat("w1", {"device": "cuda:0", "busy": True})
    live = await store.live_workers(within_s=60)
    assert [w["worker_id"] for w in live] == ["w1", "w2"]
    assert live[0]["info"] == {"device": "cuda:0", "busy": True}
    assert live[0]["first_seen"] <= live[0]["last_seen"]
    assert await store.live_workers(within_s=-60) == []


async def test_ping(store: SqlRequestStore) -> None:
    assert await store.ping()
