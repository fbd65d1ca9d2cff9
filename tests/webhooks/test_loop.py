"""The delivery loop against a real request table (SQLite and PostgreSQL) and a loopback
receiver: prompt deliveries on state changes, retries, restarts, several loops at once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from opendream.client.webhooks import verify_webhook
from opendream.inputs.types import FetchPolicy
from opendream.jobs.base import RequestRow
from opendream.jobs.store import SqlRequestStore
from opendream.webhooks.loop import DeliveryLoop, DeliveryOptions
from opendream.webhooks.state import RetryPolicy, new_state
from tests.inputs.servers import LOOPBACK
from tests.jobs.conftest import StoreFactory

from .receiver import Receiver

SEQ = "bytedance/seedream-4-0/sequential"
FAST = DeliveryOptions(
    policy=FetchPolicy(allow_http=True, allow_list=LOOPBACK),
    timeout_s=5,
    retry=RetryPolicy(backoff_s=0.05, backoff_max_s=0.2, window_s=60, jitter=0),
    scan_s=0.05,
    recheck_s=0.5,
    progress_every_s=0.0,
)


def render(row: RequestRow, event: str) -> dict[str, Any]:
    return {"request_id": row.id, "status": row.status, "event": event}


@asynccontextmanager
async def running(store: SqlRequestStore, options: DeliveryOptions = FAST) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(DeliveryLoop(store, render, options).run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def until(predicate: Callable[[], Any], timeout_s: float = 20) -> None:
    async with asyncio.timeout(timeout_s):
        while not await predicate():
            await asyncio.sleep(0.02)


async def hooked(store: SqlRequestStore, url: str, events: list[str]) -> tuple[RequestRow, str]:
    key = await store.create_key("k", f"hash-{uuid.uuid4()}")
    row = await store.insert(
        owner=key.id,
        model_id=SEQ,
        input={"text": "x"},
        input_blobs=[],
        extra={"webhook": new_state(url, events)},
    )
    return row, key.id


async def test_started_and_completed_go_out_signed(store: SqlRequestStore) -> None:
    with Receiver() as receiver:
        row, key_id = await hooked(store, receiver.url(), ["started"])
        async with running(store):
            claimed = await store.claim("w", [SEQ], 30)
            assert claimed is not None
            await asyncio.to_thread(receiver.wait_for, 1)
            await store.complete(row.id, "w", [], {})
            await asyncio.to_thread(receiver.wait_for, 2)
            await until(lambda: _disarmed(store, row.id))
    started, completed = receiver.deliveries
    secret = (await store.get_key(key_id)).webhook_secret  # type: ignore[union-attr]
    assert secret is not None and secret.startswith("whsec_")  # made on first delivery
    assert verify_webhook(started.headers, started.body, secret) == render(claimed, "started")
    body = verify_webhook(completed.headers, completed.body, secret)
    assert body == {"request_id": row.id, "status": "succeeded", "event": "completed"}
    assert started.headers["webhook-id"] == f"{row.id}.started"
    assert completed.headers["webhook-event"] == "completed"
    final = (await store.get(row.id)).extra["webhook"]  # type: ignore[union-attr]
    assert [(d["event"], d["attempt"], d["status"]) for d in final["deliveries"]] == [
        ("started", 1, 200),
        ("completed", 1, 200),
    ]
    assert final["done"] is True and final["pending"] == []


async def _disarmed(store: SqlRequestStore, request_id: str) -> bool:
    webhook = (await store.get(request_id)).extra["webhook"]  # type: ignore[union-attr]
    return bool(webhook.get("done")) and await store.lease_webhook(request_id, 1) is None


async def test_failures_are_retried_until_delivered(store: SqlRequestStore) -> None:
    with Receiver([500, 503]) as receiver:
        row, _ = await hooked(store, receiver.url(), [])
        await store.cancel(row.id, row.owner)
        async with running(store):
            await asyncio.to_thread(receiver.wait_for, 3)
            await until(lambda: _disarmed(store, row.id))
    ids = {d.headers["webhook-id"] for d in receiver.deliveries}
    assert ids == {f"{row.id}.completed"}  # the same message each time
    log = (await store.get(row.id)).extra["webhook"]["deliveries"]  # type: ignore[union-attr]
    assert [(d["attempt"], d["status"]) for d in log] == [(1, 500), (2, 503), (3, 200)]
    assert log[0]["error"] == "the receiver answered HTTP 500" and "next_at" in log[0]


async def test_a_restarted_loop_carries_on(open_store: StoreFactory) -> None:
    first = await open_store()
    with Receiver([500]) as receiver:
        row, _ = await hooked(first, receiver.url(), [])
        await first.cancel(row.id, row.owner)
        slow = DeliveryOptions(**{**FAST.__dict__, "retry": RetryPolicy(backoff_s=0.5, jitter=0)})
        async with running(first, slow):
            await asyncio.to_thread(receiver.wait_for, 1)
        pending = (await first.get(row.id)).extra["webhook"]["pending"]  # type: ignore[union-attr]
        assert [m["attempt"] for m in pending] == [1]  # saved, due again later
        second = await open_store()  # another process after a restart
        async with running(second):
            await asyncio.to_thread(receiver.wait_for, 2)
            await until(lambda: _disarmed(second, row.id))
    log = (await second.get(row.id)).extra["webhook"]["deliveries"]  # type: ignore[union-attr]
    assert [(d["attempt"], d["status"]) for d in log] == [(1, 500), (2, 200)]


async def test_several_loops_deliver_each_message_once(open_store: StoreFactory) -> None:
    stores = [await open_store() for _ in range(3)]
    with Receiver() as receiver:
        rows = [(await hooked(stores[0], receiver.url(), ["started"]))[0] for _ in range(4)]
        async with running(stores[0]), running(stores[1]), running(stores[2]):
            for _ in rows:
                claimed = await stores[1].claim("w", [SEQ], 30)
                assert claimed is not None
                await stores[1].complete(claimed.id, "w", [], {})
            await asyncio.to_thread(receiver.wait_for, 8)
            for r in rows:
                await until(lambda r=r: _disarmed(stores[2], r.id))
    ids = [d.headers["webhook-id"] for d in receiver.deliveries]
    assert sorted(ids) == sorted(f"{r.id}.{e}" for r in rows for e in ("started", "completed"))


async def test_progress_deliveries_carry_distinct_ids(store: SqlRequestStore) -> None:
    with Receiver() as receiver:
        row, _ = await hooked(store, receiver.url(), ["progress"])
        async with running(store):
            await store.claim("w", [SEQ], 30)
            for step in range(1, 5):
                await store.set_progress(
                    row.id, "w", {"step": step, "steps": 4, "image": 1, "images": 1}
                )
                await asyncio.sleep(0.1)
            await store.complete(row.id, "w", [], {})
            await until(lambda: _disarmed(store, row.id))
    events = [json.loads(d.body)["event"] for d in receiver.deliveries]
    assert events[-1] == "completed" and "progress" in events
    ids = [d.headers["webhook-id"] for d in receiver.deliveries]
    assert len(ids) == len(set(ids))


async def test_the_address_is_checked_again_at_delivery(store: SqlRequestStore) -> None:
    """Accepted at submit, refused now (the allow-list changed, or the name moved inside)."""
    with Receiver() as receiver:
        row, _ = await hooked(store, receiver.url(), [])
        await store.cancel(row.id, row.owner)
        strict = DeliveryOptions(**{**FAST.__dict__, "policy": FetchPolicy(allow_http=True)})
        async with running(store, strict):
            await until(lambda: _attempted(store, row.id))
    assert receiver.deliveries == []
    (attempt,) = (await store.get(row.id)).extra["webhook"]["deliveries"][:1]  # type: ignore[union-attr]
    assert attempt["status"] is None and "not a public internet address" in attempt["error"]


async def _attempted(store: SqlRequestStore, request_id: str) -> bool:
    return bool((await store.get(request_id)).extra["webhook"]["deliveries"])  # type: ignore[union-attr]


async def test_rows_without_a_webhook_are_left_alone(store: SqlRequestStore) -> None:
    row = await store.insert(owner="k", model_id=SEQ, input={}, input_blobs=[])
    loop = DeliveryLoop(store, render, FAST)
    assert await loop.process(row.id, hinted=True) is False
    assert await loop.process(row.id) is False
    assert (await store.get(row.id)).extra == {}  # type: ignore[union-attr]
    loop._hint(row.id)  # its later changes are dropped without even a read
    assert row.id not in loop._hints
