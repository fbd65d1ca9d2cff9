"""The claim: FIFO, only the worker's models, each row to exactly one claimer, and cancel racing
claim with exactly one winner. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from opendream.jobs.base import RequestRow
from opendream.jobs.store import SqlRequestStore

from .conftest import StoreFactory
from .helpers import EDIT, SEQ, put


async def test_claims_oldest_first(store: SqlRequestStore) -> None:
    rows = [await put(store) for _ in range(5)]
    claimed = [await store.claim("w1", [SEQ], lease_s=30) for _ in rows]
    assert [c.id for c in claimed if c] == [r.id for r in rows]
    assert await store.claim("w1", [SEQ], lease_s=30) is None


async def test_claim_takes_only_listed_models(store: SqlRequestStore) -> None:
    seq = await put(store, model=SEQ)
    edit = await put(store, model=EDIT)
    assert await store.claim("w1", ["some/other-model"], lease_s=30) is None
    assert await store.claim("w1", [], lease_s=30) is None
    got = await store.claim("w1", [EDIT], lease_s=30)
    assert got is not None and got.id == edit.id
    assert await store.claim("w1", [EDIT], lease_s=30) is None
    got2 = await store.claim("w2", [EDIT, SEQ], lease_s=30)
    assert got2 is not None and got2.id == seq.id


async def test_claim_marks_the_row_for_this_worker(store: SqlRequestStore) -> None:
    row = await put(store)
    got = await store.claim("w1", [SEQ], lease_s=30)
    assert got is not None
    assert got.status == "in_progress" and got.worker_id == "w1" and got.attempts == 1
    assert got.started_at is not None and got.lease_until is not None
    assert timedelta(seconds=20) < got.lease_until - got.started_at < timedelta(seconds=40)
    assert await store.get(row.id) == got


async def test_concurrent_claimers_each_row_exactly_once(
    store: SqlRequestStore, open_store: StoreFactory
) -> None:
    other = await open_store()
    rows = [await put(store) for _ in range(20)]
    claims: dict[str, list[str]] = {}

    async def claimer(s: SqlRequestStore, worker: str) -> None:
        for _ in range(40):  # bounded: more attempts than rows
            got = await s.claim(worker, [SEQ], lease_s=30)
            if got is None:
                return
            claims.setdefault(got.id, []).append(worker)

    await asyncio.gather(*(claimer(s, f"w{i}") for i, s in enumerate([store, other, store, other])))
    assert sorted(claims) == sorted(r.id for r in rows)
    assert all(len(ws) == 1 for ws in claims.values()), claims
    for r in rows:
        got = await store.get(r.id)
        assert got is not None
        assert got.status == "in_progress" and got.attempts == 1
        assert [got.worker_id] == claims[r.id]


async def test_cancel_racing_claim_has_exactly_one_winner(
    store: SqlRequestStore, open_store: StoreFactory
) -> None:
    worker_side = await open_store()
    rows = [await put(store) for _ in range(10)]

    async def cancel_all() -> list[bool]:
        results = []
        for r in rows:
            ok, _ = await store.cancel(r.id, r.owner)
            results.append(ok)
        return results

    async def claim_all() -> list[RequestRow]:
        got: list[RequestRow] = []
        for _ in range(len(rows)):
            c = await worker_side.claim("w1", [SEQ], lease_s=30)
            if c is not None:
                got.append(c)
        return got

    cancelled, claimed = await asyncio.gather(cancel_all(), claim_all())
    claimed_ids = {c.id for c in claimed}
    for r, was_cancelled in zip(rows, cancelled, strict=True):
        assert was_cancelled != (r.id in claimed_ids), r.id  # one or the other, never both
        final = await store.get(r.id)
        assert final is not None
        assert final.status == ("cancelled" if was_cancelled else "in_progress")


async def test_postgres_claim_waits_out_a_brief_lock_held_by_someone_else(
    pg_store: SqlRequestStore,
) -> None:
    import asyncpg

    row = await put(pg_store)
    dsn = pg_store.url.set(drivername="postgresql").render_as_string(hide_password=False)
    other = await asyncpg.connect(dsn)
    try:
        # what a webhook delivery loop does to a queued row for one statement
        lock = other.transaction()
        await lock.start()
        await other.execute("SELECT 1 FROM requests WHERE id = $1 FOR UPDATE", row.id)
        asyncio.get_running_loop().call_later(0.01, lambda: asyncio.ensure_future(lock.commit()))
        claimed = await pg_store.claim("w1", [SEQ], lease_s=30)
    finally:
        await other.close()
    assert claimed is not None and claimed.id == row.id
