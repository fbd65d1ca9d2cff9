"""Leases: heartbeats, the reaper, release, and a late worker losing its write. Runs on SQLite
and PostgreSQL. Expired leases are made with a negative lease length, never by sleeping."""

from __future__ import annotations

from opendream.jobs.store import SqlRequestStore

from .helpers import SEQ, put

EXPIRED = -60.0  # a lease that ended a minute ago


async def test_expired_lease_requeues_then_fails_after_max(store: SqlRequestStore) -> None:
    row = await put(store)
    first = await store.claim("w1", [SEQ], lease_s=EXPIRED)
    assert first is not None

    for attempt in (1, 2):
        assert await store.reap_expired_leases(max_attempts=3) == 1
        back = await store.get(row.id)
        assert back is not None
        assert (back.status, back.attempts, back.worker_id) == ("in_queue", attempt, None)
        assert back.lease_until is None and back.progress is None
        again = await store.claim(f"w{attempt + 1}", [SEQ], lease_s=EXPIRED)
        assert again is not None and again.attempts == attempt + 1
        assert again.started_at == first.started_at  # first start is kept

    assert await store.reap_expired_leases(max_attempts=3) == 1
    dead = await store.get(row.id)
    assert dead is not None
    assert dead.status == "failed"
    assert dead.error == "worker lost 3 times"
    assert dead.finished_at is not None
    assert await store.reap_expired_leases(max_attempts=3) == 0


async def test_live_leases_are_left_alone(store: SqlRequestStore) -> None:
    row = await put(store)
    await store.claim("w1", [SEQ], lease_s=EXPIRED)
    assert await store.heartbeat(row.id, "w1", lease_s=60)  # extended before the reaper ran
    assert await store.reap_expired_leases(max_attempts=3) == 0
    got = await store.get(row.id)
    assert got is not None and got.status == "in_progress"


async def test_complete_after_losing_the_lease_changes_nothing(store: SqlRequestStore) -> None:
    row = await put(store)
    await store.claim("w1", [SEQ], lease_s=EXPIRED)
    await store.reap_expired_leases(max_attempts=3)
    assert not await store.complete(row.id, "w1", ["late.png"], {"seed": 1})
    assert not await store.set_progress(row.id, "w1", {"step": 9})
    assert not await store.heartbeat(row.id, "w1", 30)
    queued = await store.get(row.id)
    assert queued is not None
    assert (queued.status, queued.outputs, queued.metadata) == ("in_queue", None, {})

    retry = await store.claim("w2", [SEQ], lease_s=30)
    assert retry is not None and retry.id == row.id
    assert not await store.complete(row.id, "w1", ["late.png"], {})
    assert await store.complete(row.id, "w2", ["out.png"], {})
    done = await store.get(row.id)
    assert done is not None and done.outputs == ["out.png"] and done.worker_id == "w2"


async def test_release_hands_back_to_the_front_of_the_queue(store: SqlRequestStore) -> None:
    row = await put(store)
    await store.claim("w1", [SEQ], lease_s=30)
    later = await put(store)
    await store.set_progress(row.id, "w1", {"step": 2})
    assert not await store.release(row.id, "w2")
    assert await store.release(row.id, "w1")
    back = await store.get(row.id)
    assert back is not None
    assert (back.status, back.worker_id, back.attempts, back.progress) == (
        "in_queue",
        None,
        1,
        None,
    )
    assert not await store.release(row.id, "w1")  # not in progress any more
    assert await store.queue_position(back) == 0 and await store.queue_position(later) == 1
    again = await store.claim("w2", [SEQ], lease_s=30)
    assert again is not None and again.id == row.id and again.attempts == 2


async def test_release_worker_requeues_everything_it_held(store: SqlRequestStore) -> None:
    a, b, c = [await put(store) for _ in range(3)]
    await store.claim("w1", [SEQ], lease_s=30)
    await store.claim("w1", [SEQ], lease_s=30)
    await store.claim("w2", [SEQ], lease_s=30)
    assert await store.release_worker("w1") == 2
    states = {r.id: r for r in [await store.get(x.id) for x in (a, b, c)] if r}
    assert [states[x.id].status for x in (a, b, c)] == ["in_queue", "in_queue", "in_progress"]
    assert states[a.id].attempts == 1  # a killed worker's attempt still counts


async def test_release_worker_fails_requests_that_keep_killing_it(store: SqlRequestStore) -> None:
    row = await put(store)
    for _ in range(2):
        await store.claim("w1", [SEQ], lease_s=30)
        assert await store.release_worker("w1", max_attempts=2) == 1
    got = await store.get(row.id)
    assert got is not None
    assert (got.status, got.error) == ("failed", "worker lost 2 times")
