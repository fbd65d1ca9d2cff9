"""The delivery loop: every `serve` and `worker` process runs one; they share the work through
the request table.

A row is looked at when it changes (heard through `store.subscribe()`, so a `started` or
`completed` goes out at once) and when it is due (a retry time, or the periodic re-check of an
unfinished request). To work on a row, a loop leases it; the state it saves (pending messages,
attempts) lives in the row, so a restart — or another process — carries on where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opendream.inputs.fetch import Resolver
from opendream.inputs.types import FetchPolicy
from opendream.jobs.base import RequestRow, RequestStore, StoreUnavailable
from opendream.webhooks import state as st
from opendream.webhooks.send import Outcome, post
from opendream.webhooks.signing import new_secret, signed_headers

log = logging.getLogger("opendream.webhooks")

Render = Callable[[RequestRow, str], dict[str, Any]]
RETRY_HINT_S = 1.0
SETTLED_CACHE = 10_000


@dataclass
class DeliveryOptions:
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    timeout_s: float = 10.0
    retry: st.RetryPolicy = field(default_factory=st.RetryPolicy)
    lease_s: float = 120.0  # longer than the deliveries of one look can take
    scan_s: float = 1.0  # how often due rows are looked for
    recheck_s: float = 30.0  # unfinished requests are re-read this often without news
    progress_every_s: float = 1.0  # at most one progress delivery per request this often
    concurrency: int = 8  # rows worked on at once (a slow receiver holds one slot)


class DeliveryLoop:
    def __init__(
        self,
        store: RequestStore,
        render: Render,
        options: DeliveryOptions | None = None,
        *,
        resolver: Resolver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`render(row, event)`: the JSON body of a delivery (the result object)."""
        self.store = store
        self.render = render
        self.options = options or DeliveryOptions()
        self.resolver = resolver
        self.clock = clock
        self._hints: set[str] = set()
        self._wake = asyncio.Event()
        self._busy: set[str] = set()
        # Rows known to need no delivery ever again (no webhook, or all delivered): a webhook is
        # only ever set at insert, so their change notifications can be dropped without a read.
        self._settled: OrderedDict[str, None] = OrderedDict()
        self._slots = asyncio.Semaphore(self.options.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(), name="opendream-webhooks-listen")
        try:
            while not stop.is_set():
                try:
                    await self._round()
                except StoreUnavailable as exc:  # expected during an outage: one line
                    log.warning("webhook delivery paused, database unavailable: %s", exc)
                except Exception:  # a bug must not end deliveries for good either
                    log.exception("webhook delivery round failed; retrying")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.options.scan_s):
                        await _first(stop.wait(), self._wake.wait())
                self._wake.clear()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _listen(self) -> None:
        async with self.store.subscribe() as changes:
            async for request_id in changes:
                self._hint(request_id)

    def _hint(self, request_id: str) -> None:
        if request_id in self._settled:
            return
        self._hints.add(request_id)
        self._wake.set()

    def _settle(self, request_id: str) -> None:
        self._settled[request_id] = None
        if len(self._settled) > SETTLED_CACHE:
            self._settled.popitem(last=False)

    async def _round(self) -> None:
        hinted, self._hints = self._hints, set()
        now = datetime.fromtimestamp(self.clock(), UTC)
        due = set(await self.store.due_webhooks(now, limit=100))
        for request_id in hinted | due:
            if request_id in self._busy:
                if request_id in hinted:
                    self._hints.add(request_id)  # look again when the current look is over
                continue
            self._busy.add(request_id)
            task = asyncio.create_task(self._one(request_id, hinted=request_id in hinted))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _one(self, request_id: str, *, hinted: bool) -> None:
        try:
            async with self._slots:
                await self.process(request_id, hinted=hinted)
        except Exception:
            log.exception("webhook delivery for request %s failed; will retry", request_id)
        finally:
            self._busy.discard(request_id)
            if request_id in self._hints:
                self._wake.set()

    async def process(self, request_id: str, *, hinted: bool = False) -> bool:
        """One look at a row: enqueue what it owes, send what is due, save. False when there
        was nothing to do or another loop holds the row."""
        opts = self.options
        if hinted:
            # Most changes (progress writes, rows without a webhook) need nothing: check with a
            # read before taking the lease, which is a write.
            row = await self.store.get(request_id)
            if row is None or _settled(row):
                self._settle(request_id)
                return False
            if not self._needs_work(row):
                return False
        leased = await self.store.lease_webhook(request_id, opts.lease_s)
        if leased is None:
            if hinted:
                # Another loop holds the row and may have read it before this change: look
                # again shortly rather than at its next scheduled time.
                asyncio.get_running_loop().call_later(RETRY_HINT_S, self._hint, request_id)
            return False
        webhook = json.loads(json.dumps(leased.extra.get("webhook") or {}))
        if not webhook.get("url"):
            await self.store.save_webhook(request_id, webhook, None)
            return False
        now = self.clock()
        for event in st.owed(leased, webhook, now, opts.progress_every_s):
            st.enqueue(webhook, leased, event, self.render(leased, event), now)
        secret: str | None = None
        for message in st.due(webhook, now):
            if secret is None:
                secret = await self._secret(leased.owner)
            outcome = await self._deliver(webhook["url"], message, secret)
            st.record(
                webhook,
                message,
                status=outcome.status,
                error=outcome.error,
                now=self.clock(),
                policy=opts.retry,
            )
            if outcome.error:
                log.warning(
                    "webhook %s to %s: attempt %d failed: %s",
                    message["id"],
                    webhook["url"],
                    message["attempt"],
                    outcome.error,
                )
        later = st.next_look(webhook, leased, self.clock(), opts.recheck_s, opts.progress_every_s)
        due_at = datetime.fromtimestamp(later, UTC) if later is not None else None
        await self.store.save_webhook(request_id, webhook, due_at)
        if due_at is None:
            self._settle(request_id)
        return True

    def _needs_work(self, row: RequestRow) -> bool:
        webhook, now = row.extra["webhook"], self.clock()
        return bool(
            st.owed(row, webhook, now, self.options.progress_every_s) or st.due(webhook, now)
        )

    async def _secret(self, owner: str) -> str:
        key = await self.store.get_key(owner)
        if key is not None and key.webhook_secret:
            return key.webhook_secret
        return await self.store.ensure_webhook_secret(owner, new_secret())

    async def _deliver(self, url: str, message: dict[str, Any], secret: str) -> Outcome:
        body = json.dumps(message["payload"], separators=(",", ":")).encode("utf-8")
        headers = signed_headers(secret, message["id"], int(self.clock()), body)
        headers["webhook-event"] = message["event"]
        return await post(
            url,
            body,
            headers,
            policy=self.options.policy,
            timeout_s=self.options.timeout_s,
            resolver=self.resolver,
        )


def _settled(row: RequestRow) -> bool:
    webhook = row.extra.get("webhook")
    return not isinstance(webhook, dict) or not webhook.get("url") or bool(webhook.get("done"))


async def _first(*aws: Awaitable[Any]) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
