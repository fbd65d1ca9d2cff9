"""Webhook bookkeeping in the request table: arming at insert, due scans, leases between delivery
loops, saving state, and per-key secrets. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from opendream.jobs.store import SqlRequestStore

from .conftest import StoreFactory
from .helpers import put

WEBHOOK = {"url": "https://hooks.example.com/x", "events": ["completed"]}


def later(s: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=s)


async def test_a_row_with_a_webhook_is_armed_at_insert(store: SqlRequestStore) -> None:
    plain = await put(store)
    hooked = await put(store, extra={"webhook": WEBHOOK})
    due = await store.due_webhooks(later(1))
    assert due == [hooked.id]
    assert plain.id not in due
    assert await store.lease_webhook(plain.id, 30) is None  # never armed


async def test_a_lease_keeps_other_loops_off_until_saved(open_store: StoreFactory) -> None:
    a, b = await open_store(), await open_store()  # two processes
    row = await put(a, extra={"webhook": WEBHOOK})
    leased = await a.lease_webhook(row.id, 30)
    assert leased is not None and leased.extra["webhook"] == WEBHOOK
    assert await b.lease_webhook(row.id, 30) is None
    assert await b.due_webhooks(later(1)) == []  # leased rows are not due for anyone else
    state = {**WEBHOOK, "deliveries": [{"event": "completed", "status": 200}]}
    await a.save_webhook(row.id, state, later(60))
    again = await b.lease_webhook(row.id, 30)  # lease over: another loop may take it
    assert again is not None and again.extra["webhook"] == state
    assert await a.due_webhooks(later(1)) == []  # leased again, and not due before 60 s


async def test_concurrent_leases_have_one_winner(open_store: StoreFactory) -> None:
    stores = [await open_store() for _ in range(3)]
    row = await put(stores[0], extra={"webhook": WEBHOOK})
    results = await asyncio.gather(*(s.lease_webhook(row.id, 30) for s in stores))
    assert sum(r is not None for r in results) == 1


async def test_an_expired_lease_can_be_taken_over(store: SqlRequestStore) -> None:
    row = await put(store, extra={"webhook": WEBHOOK})
    assert await store.lease_webhook(row.id, 0.05) is not None
    for _ in range(100):
        if await store.lease_webhook(row.id, 30) is not None:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the expired lease was never released")


async def test_save_with_no_due_time_disarms_and_keeps_other_extra(store: SqlRequestStore) -> None:
    row = await put(store, extra={"webhook": WEBHOOK, "door": "runcomfy"})
    assert await store.lease_webhook(row.id, 30) is not None
    await store.save_webhook(row.id, {**WEBHOOK, "done": True}, None)
    assert await store.due_webhooks(later(3600)) == []
    assert await store.lease_webhook(row.id, 30) is None
    got = await store.get(row.id)
    assert got is not None
    assert got.extra == {"webhook": {**WEBHOOK, "done": True}, "door": "runcomfy"}


async def test_due_rows_come_oldest_due_first(store: SqlRequestStore) -> None:
    first = await put(store, extra={"webhook": WEBHOOK})
    second = await put(store, extra={"webhook": WEBHOOK})
    await store.save_webhook(first.id, WEBHOOK, later(5))
    await store.save_webhook(second.id, WEBHOOK, later(2))
    assert await store.due_webhooks(later(1)) == []
    assert await store.due_webhooks(later(3)) == [second.id]
    assert await store.due_webhooks(later(10)) == [second.id, first.id]
    assert await store.due_webhooks(later(10), limit=1) == [second.id]


async def test_saving_sends_no_change_notification(store: SqlRequestStore) -> None:
    row = await put(store, extra={"webhook": WEBHOOK})
    other = await put(store)
    sub = store.subscribe()
    try:
        await store.save_webhook(row.id, WEBHOOK, later(5))
        await store.mark_expired(other.id)  # a real change, notified after the save
        # Notifications arrive in commit order: the first one heard is the real change.
        assert await asyncio.wait_for(sub.__anext__(), 5) == other.id
    finally:
        await sub.aclose()


async def test_webhook_secret_is_created_once(store: SqlRequestStore) -> None:
    key = await store.create_key("k", "hash-1")
    assert (await store.get_key(key.id)) is not None
    assert (await store.get_key(key.id)).webhook_secret is None  # type: ignore[union-attr]
    first, second = await asyncio.gather(
        store.ensure_webhook_secret(key.id, "whsec_first"),
        store.ensure_webhook_secret(key.id, "whsec_second"),
    )
    assert first == second and first in ("whsec_first", "whsec_second")
    assert await store.ensure_webhook_secret(key.id, "whsec_third") == first
    assert (await store.get_key(key.id)).webhook_secret == first  # type: ignore[union-attr]
    assert await store.get_key("no-such-key") is None
