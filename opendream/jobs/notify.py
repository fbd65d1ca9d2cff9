"""Wake-ups and the change feed.

Two signals travel from whoever changes the request table to whoever waits:
- "work": a request may be claimable (insert, release, requeue) — wakes idle workers;
- "events": request `id` changed (claim, progress, finish, cancel) — for server-sent events.

On PostgreSQL they are NOTIFY on the channels below, heard on one dedicated LISTEN connection
per store. On SQLite they stay in the process: every store on the same database file shares one
`Signals`, so an API and a worker in one process wake each other with no polling; other
processes fall back to the waiter's timeout.

All signalling is thread-safe (waiters on several event loops are allowed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

WORK_CHANNEL = "opendream_requests"
EVENTS_CHANNEL = "opendream_events"

log = logging.getLogger(__name__)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class WakeHub:
    """A broadcast doorbell with a counter. A waiter passes the counter it saw when it last
    looked for work; if the bell rang since, it returns at once — no lost wake-ups between
    "found nothing" and "start waiting"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()

    @property
    def count(self) -> int:
        return self._count

    def ring(self) -> None:
        with self._lock:
            self._count += 1
            waiters, self._waiters = self._waiters, set()
        for loop, fut in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody to wake
                loop.call_soon_threadsafe(_resolve, fut)

    async def wait(self, since: int, timeout_s: float) -> bool:
        """True if woken (or already rung since `since`), False on timeout."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        entry = (loop, fut)
        with self._lock:
            if self._count != since:
                return True
            self._waiters.add(entry)
        try:
            await asyncio.wait_for(fut, timeout=max(0.0, timeout_s))
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiters.discard(entry)


class EventBus:
    """Fan-out of changed request ids to subscribers, each with a bounded queue (a slow reader
    loses ids rather than growing memory; ids are hints, readers re-read the row)."""

    MAX_QUEUED = 1000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]] = set()

    def publish(self, request_id: str) -> None:
        with self._lock:
            subs = list(self._subs)
        for loop, q in subs:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._put, q, request_id)

    @staticmethod
    def _put(q: asyncio.Queue[str], item: str) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            q.put_nowait(item)

    def subscribe(self, before_first: Callable[[], Awaitable[None]] | None = None) -> Subscription:
        """Registers at once (not on first iteration), so nothing published after this call is
        missed: subscribe first, then read the row."""
        return Subscription(self, before_first)

    def _add(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]) -> None:
        with self._lock:
            self._subs.add(entry)

    def _remove(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]) -> None:
        with self._lock:
            self._subs.discard(entry)

    @property
    def subscribers(self) -> int:
        return len(self._subs)


class Subscription:
    """An async iterator of changed request ids; `aclose()` (or `async with`) unsubscribes."""

    def __init__(self, bus: EventBus, before_first: Callable[[], Awaitable[None]] | None) -> None:
        self._bus = bus
        self._before_first = before_first
        self._queue: asyncio.Queue[str] = asyncio.Queue(EventBus.MAX_QUEUED)
        self._entry = (asyncio.get_running_loop(), self._queue)
        bus._add(self._entry)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> str:
        if self._before_first is not None:
            hook, self._before_first = self._before_first, None
            await hook()
        return await self._queue.get()

    async def aclose(self) -> None:
        self._bus._remove(self._entry)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class Signals:
    def __init__(self) -> None:
        self.work = WakeHub()
        self.events = EventBus()


_local_lock = threading.Lock()
_local: dict[str, Signals] = {}


def local_signals(key: str) -> Signals:
    """The in-process signals shared by every store on one SQLite database."""
    with _local_lock:
        s = _local.get(key)
        if s is None:
            s = _local[key] = Signals()
        return s


# What the current task saw the doorbell at when it last looked for work (see WakeHub). A
# context variable so that several worker tasks sharing one store each keep their own.
last_seen: ContextVar[tuple[int, int] | None] = ContextVar("opendream_jobs_last_seen", default=None)


def mark_seen(hub: WakeHub) -> None:
    last_seen.set((id(hub), hub.count))


def seen_for(hub: WakeHub, fallback: int | None = None) -> int:
    """The mark this task left; else `fallback` (the store's last claim by any task, for
    callers that claim in a child task, e.g. under asyncio.wait_for); else now."""
    v = last_seen.get()
    if v is not None and v[0] == id(hub):
        return v[1]
    return hub.count if fallback is None else fallback


class PgListener:
    """One dedicated asyncpg connection that LISTENs on both channels and feeds `signals`.
    Reconnects with backoff when the connection drops; on every (re)connect it rings the work
    bell, because notifications sent while it was away are lost."""

    KEEPALIVE_S = 10.0

    def __init__(self, dsn: str, signals: Signals) -> None:
        self._dsn = dsn
        self._signals = signals
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._first_try = asyncio.Event()  # set once the first connection attempt is over
        self._stopping = False
        self._pid: int | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def backend_pid(self) -> int | None:
        """The server process of the LISTEN connection (tests use it to kill the connection)."""
        return self._pid

    async def ensure_started(self, wait_s: float = 5.0) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="opendream-pg-listener")
            # Wait for the first attempt only: a database that is down must not stall callers
            # (they get StoreUnavailable from their own query), and reconnects go on behind.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._first_try.wait(), wait_s)

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def _on_notify(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        if channel == WORK_CHANNEL:
            self._signals.work.ring()
        elif channel == EVENTS_CHANNEL and payload:
            self._signals.events.publish(payload)

    async def _run(self) -> None:
        import asyncpg

        backoff = 0.1
        while not self._stopping:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=5)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, ev=lost: ev.set())
                await conn.add_listener(WORK_CHANNEL, self._on_notify)
                await conn.add_listener(EVENTS_CHANNEL, self._on_notify)
                self._pid = conn.get_server_pid()
                self._connected.set()
                self._first_try.set()
                backoff = 0.1
                self._signals.work.ring()
                await self._watch(conn, lost)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # any failure: drop the connection and try again
                log.warning("LISTEN connection to PostgreSQL lost or refused: %s", e)
            finally:
                self._first_try.set()
                self._connected.clear()
                self._pid = None
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 2)
            if not self._stopping:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _watch(self, conn: Any, lost: asyncio.Event) -> None:
        # An idle socket may not notice the server going away; a cheap query every few
        # seconds does.
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self.KEEPALIVE_S)
                return
            await conn.execute("SELECT 1", timeout=5)
