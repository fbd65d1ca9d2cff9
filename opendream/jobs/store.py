"""`RequestStore` over SQLAlchemy 2 async: one implementation for SQLite and PostgreSQL.

Every state change is one guarded UPDATE (the WHERE clause names the state it expects), so two
actors racing on a row cannot both win: cancel vs claim, a late complete vs the reaper, two
claimers. Times come from this process's UTC clock; hosts in a fleet are expected to run NTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from opendream.jobs.base import (
    FINISHED,
    ApiKey,
    RequestRow,
    RequestStore,
    StatusView,
    StoreUnavailable,
    UploadedFile,
)
from opendream.jobs.claim import claim_statement
from opendream.jobs.database import (
    READ_ONLY,
    SINGLE_STATEMENT,
    is_unavailable,
    make_engine,
    normalise_url,
    sqlite_path,
)
from opendream.jobs.ids import new_key_id, new_request_id
from opendream.jobs.migrate import upgrade_engine
from opendream.jobs.notify import (
    EVENTS_CHANNEL,
    WORK_CHANNEL,
    PgListener,
    Signals,
    Subscription,
    local_signals,
    mark_seen,
    seen_for,
)
from opendream.jobs.status_reads import (
    SQLITE_STATUS,
    PostgresStatusReads,
    SqliteStatusReads,
    StatusReads,
    view_of,
)
from opendream.jobs.tables import UtcDateTime, api_keys, files, requests, workers

T = requests

# How long an active key found by its token hash is trusted without asking the database again.
# A revocation made through this store takes effect at once; one made elsewhere (the CLI, another
# replica) within this many seconds.
KEY_CACHE_S = 3.0
CLAIM_ATTEMPTS = 4  # PostgreSQL: see claim
_KEY_CACHE_MAX = 4096

# The hot read path's statements, built once: SQLAlchemy then finds their compiled form by a
# memoized cache key instead of rebuilding and hashing an expression tree per call.
_BY_ID = sa.select(T).where(T.c.id == sa.bindparam("rid"))
_BY_ID_OWNER = _BY_ID.where(T.c.owner == sa.bindparam("owner"))
_INSERT = sa.insert(T).returning(*T.c)
_KEY_BY_HASH = sa.select(api_keys).where(
    api_keys.c.token_hash == sa.bindparam("token_hash"), api_keys.c.revoked_at.is_(None)
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _at(value: datetime) -> sa.BindParameter[datetime]:
    # A time used inside an SQL expression (coalesce, comparisons) still goes through
    # UtcDateTime, so SQLite gets naive UTC text and PostgreSQL an aware timestamp.
    return sa.bindparam(None, value, type_=UtcDateTime())


def _request(r: sa.Row[Any]) -> RequestRow:
    m = r._mapping
    return RequestRow(
        id=m["id"],
        owner=m["owner"],
        model_id=m["model_id"],
        status=m["status"],
        input=m["input"],
        input_blobs=list(m["input_blobs"] or []),
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        attempts=m["attempts"],
        progress=m["progress"],
        outputs=m["outputs"],
        error=m["error"],
        metadata=m["metadata"] or {},
        worker_id=m["worker_id"],
        lease_until=m["lease_until"],
        expired=bool(m["expired"]),
        idempotency_key=m["idempotency_key"],
        extra=m["extra"] or {},
    )


def _key(r: sa.Row[Any]) -> ApiKey:
    return ApiKey(**r._mapping)  # the api_keys columns are ApiKey's fields


def _file(r: sa.Row[Any]) -> UploadedFile:
    return UploadedFile(**r._mapping)  # the files columns are UploadedFile's fields


@dataclass
class _Tx:
    """A write transaction plus the signals to send once it commits."""

    conn: AsyncConnection
    pending: list[tuple[str, str]] = field(default_factory=list)

    def work(self, model_id: str = "") -> None:
        self.pending.append((WORK_CHANNEL, model_id))

    def event(self, request_id: str) -> None:
        self.pending.append((EVENTS_CHANNEL, request_id))


class SqlRequestStore(RequestStore):
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        """`url`: sqlite[+aiosqlite]:///path or postgresql[+asyncpg]://... . `migrate`: whether
        `start()` upgrades the schema (turn off when a deploy step runs `opendream db upgrade`)."""
        self.url = normalise_url(url)
        self.dialect = self.url.get_backend_name()
        self._migrate = migrate
        self._engine = make_engine(url)
        self._listener: PgListener | None = None
        self._claim_mark: int | None = None  # the doorbell count at the last claim
        # token hash -> (trusted until, monotonic; key); see KEY_CACHE_S
        self._keys: dict[str, tuple[float, ApiKey]] = {}
        self._keys_generation = 0  # bumped by every key change made here
        self._status_reads: StatusReads | None = None  # None: the pooled path
        self._write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )  # SQLite: see _writer_turn
        if self.dialect == "postgresql":
            self._signals = Signals()
            dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._listener = PgListener(dsn, self._signals)
            self._status_reads = PostgresStatusReads(dsn)
        else:
            path = sqlite_path(self.url)
            self._signals = local_signals(str(path) if path else self.url.render_as_string())
            if path is not None:
                self._status_reads = SqliteStatusReads(path)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    # plumbing --------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _unavailable_as_503(self) -> AsyncIterator[None]:
        try:
            yield
        except StoreUnavailable:
            raise
        except Exception as e:
            if is_unavailable(e):
                raise StoreUnavailable(f"database unavailable: {e}") from e
            raise

    @contextlib.asynccontextmanager
    async def _writer_turn(self) -> AsyncIterator[None]:
        """SQLite takes one writer at a time; writers of this process queue here, in order,
        rather than at the file, where a loser sleeps in SQLite's busy handler for up to tens
        of milliseconds per retry however soon the lock frees (a long tail under load). Other
        processes on the same file still meet at the file, as before. One lock per event loop:
        an asyncio.Lock belongs to the loop that first waits on it, and a store may serve
        several (tests drive one from set-up loops and a server's loop)."""
        if self.is_postgres:
            yield
            return
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = asyncio.Lock()
        async with lock:
            yield

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[_Tx]:
        async with self._unavailable_as_503(), self._writer_turn():
            async with self._engine.begin() as conn:
                tx = _Tx(conn)
                yield tx
                if self.is_postgres and tx.pending:
                    # Delivered by PostgreSQL at commit, to every listener on any host.
                    notes = dict.fromkeys(tx.pending)
                    await conn.execute(
                        sa.select(*(sa.func.pg_notify(ch, payload) for ch, payload in notes))
                    )
            if not self.is_postgres:
                for ch, payload in tx.pending:
                    if ch == WORK_CHANNEL:
                        self._signals.work.ring()
                    else:
                        self._signals.events.publish(payload)

    @contextlib.asynccontextmanager
    async def _read(self, *, single: bool = False) -> AsyncIterator[AsyncConnection]:
        """A read-only connection. `single`: the caller runs one statement, which is atomic by
        itself, so SQLite skips the BEGIN. On PostgreSQL reads run in autocommit: READ COMMITTED
        takes a snapshot per statement anyway, and no BEGIN / ROLLBACK round trips are paid."""
        async with self._unavailable_as_503(), self._engine.connect() as conn:
            if self.is_postgres:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            else:
                await conn.execution_options(**{READ_ONLY: True, SINGLE_STATEMENT: single})
            yield conn

    async def _one(
        self, stmt: sa.Executable, params: dict[str, Any] | None = None
    ) -> sa.Row[Any] | None:
        async with self._read(single=True) as conn:
            return (await conn.execute(stmt, params)).first()

    async def _all(self, stmt: sa.Executable) -> Sequence[sa.Row[Any]]:
        async with self._read(single=True) as conn:
            return (await conn.execute(stmt)).all()

    async def _update_count(self, stmt: sa.Executable, *, event: str | None = None) -> int:
        async with self._write() as tx:
            n = (await tx.conn.execute(stmt)).rowcount
            if n and event:
                tx.event(event)
            return n

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._migrate:
            async with self._unavailable_as_503():
                await upgrade_engine(self._engine)
        if self._listener is not None:
            await self._listener.ensure_started()

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
        if self._status_reads is not None:
            await self._status_reads.close()
        await self._engine.dispose()

    async def ping(self) -> bool:
        try:
            async with self._read() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False

    # requests --------------------------------------------------------------------------------
    async def insert(
        self,
        *,
        owner: str,
        model_id: str,
        input: dict[str, Any],
        input_blobs: list[str],
        request_id: str | None = None,
        idempotency_key: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> RequestRow:
        """Also: a second insert with an (owner, idempotency_key) already used returns the
        existing row instead of a new one (compare `row.id` to tell)."""
        values = {
            "id": request_id or new_request_id(),
            "owner": owner,
            "model_id": model_id,
            "status": "in_queue",
            "input": input,
            "input_blobs": list(input_blobs),
            "created_at": utcnow(),
            "attempts": 0,
            "metadata": {},
            "expired": False,
            "idempotency_key": idempotency_key,
            "extra": extra or {},
        }
        if values["extra"].get("webhook") is not None:
            values["webhook_due_at"] = values["created_at"]  # armed: see base.py
        try:
            async with self._write() as tx:
                row = (await tx.conn.execute(_INSERT, values)).one()
                tx.work(model_id)
                tx.event(values["id"])
                return _request(row)
        except sa.exc.IntegrityError:
            if idempotency_key is not None:
                existing = await self.find_by_idempotency_key(owner, idempotency_key)
                if existing is not None:
                    return existing
            raise

    async def get(self, request_id: str, owner: str | None = None) -> RequestRow | None:
        if owner is None:
            row = await self._one(_BY_ID, {"rid": request_id})
        else:
            row = await self._one(_BY_ID_OWNER, {"rid": request_id, "owner": owner})
        return _request(row) if row else None

    async def status_view(self, request_id: str, owner: str) -> StatusView | None:
        """Through `status_reads` (see there why); a SQLite file too busy for its quick read is
        read again through the pool, which waits for it in a thread."""
        if self._status_reads is None:  # an in-memory SQLite database
            view = await self._pooled_status_view(request_id)
        else:
            try:
                view = await self._status_reads.get(request_id)
            except StoreUnavailable:
                if self.is_postgres:
                    raise
                view = await self._pooled_status_view(request_id)
        return view if view is not None and view.owner == owner else None

    async def _pooled_status_view(self, request_id: str) -> StatusView | None:
        """SQLite only: the quick read's statement, on a pooled connection."""
        async with self._read(single=True) as conn:
            row = (await conn.exec_driver_sql(SQLITE_STATUS, (request_id,))).first()
        return view_of(row) if row is not None else None

    async def find_by_idempotency_key(self, owner: str, key: str) -> RequestRow | None:
        row = await self._one(sa.select(T).where(T.c.owner == owner, T.c.idempotency_key == key))
        return _request(row) if row else None

    async def queue_position(
        self, row: RequestRow, model_ids: Collection[str] | None = None
    ) -> int:
        """In_queue rows that a worker will take before this one: created earlier (ties broken
        by insertion order). Counted over every model unless `model_ids` narrows it, because
        the default worker serves all models from one queue. 0 when not queued (any more)."""
        async with self._read() as conn:
            me = (
                await conn.execute(
                    sa.select(T.c.created_at, T.c.seq, T.c.status).where(T.c.id == row.id)
                )
            ).first()
            if me is None or me.status != "in_queue":
                return 0
            stmt = (
                sa.select(sa.func.count())
                .select_from(T)
                .where(
                    T.c.status == "in_queue",
                    sa.tuple_(T.c.created_at, T.c.seq) < sa.tuple_(_at(me.created_at), me.seq),
                )
            )
            if model_ids is not None:
                stmt = stmt.where(T.c.model_id.in_(list(model_ids)))
            return int((await conn.execute(stmt)).scalar_one())

    async def list_for_owner(
        self, owner: str, limit: int = 50, before: str | None = None
    ) -> list[RequestRow]:
        """Newest first; `before` is a request id (a cursor: rows inserted before it)."""
        stmt = sa.select(T).where(T.c.owner == owner).order_by(T.c.seq.desc()).limit(limit)
        if before is not None:
            cursor = (
                sa.select(T.c.seq).where(T.c.id == before, T.c.owner == owner).scalar_subquery()
            )
            stmt = stmt.where(T.c.seq < cursor)
        return [_request(r) for r in await self._all(stmt)]

    async def cancel(self, request_id: str, owner: str) -> tuple[bool, RequestRow | None]:
        async with self._write() as tx:
            done = (
                await tx.conn.execute(
                    sa.update(T)
                    .where(T.c.id == request_id, T.c.owner == owner, T.c.status == "in_queue")
                    .values(status="cancelled", finished_at=utcnow())
                    .returning(*T.c)
                )
            ).first()
            if done is not None:
                tx.event(request_id)
                return True, _request(done)
            row = (
                await tx.conn.execute(sa.select(T).where(T.c.id == request_id, T.c.owner == owner))
            ).first()
            return False, _request(row) if row else None

    # workers ---------------------------------------------------------------------------------
    async def claim(
        self, worker_id: str, model_ids: list[str], lease_s: float
    ) -> RequestRow | None:
        if self._listener is not None:
            await self._listener.ensure_started()
        # Before looking: anything inserted from here on rings past this mark, so the
        # wait_for_work that follows an empty claim cannot sleep through it.
        mark_seen(self._signals.work)
        self._claim_mark = self._signals.work.count
        if not model_ids:
            return None
        # PostgreSQL skips rows locked by anyone, not only by other claimers: a delivery loop
        # saving a queued row's webhook state holds it for one statement. A queued row found
        # behind such a lock is tried again a few milliseconds later rather than left until
        # the worker's next wake-up, seconds away if nothing else is submitted.
        for attempt in range(1, CLAIM_ATTEMPTS + 1):
            now = utcnow()
            stmt = claim_statement(
                model_ids,
                worker_id=worker_id,
                now=_at(now),
                lease_until=now + timedelta(seconds=lease_s),
                skip_locked=self.is_postgres,
            )
            async with self._write() as tx:
                row = (await tx.conn.execute(stmt)).first()
                if row is not None:
                    tx.event(row.id)
                    return _request(row)
                if not self.is_postgres or attempt == CLAIM_ATTEMPTS:
                    return None
                queued = sa.select(T.c.seq).where(
                    T.c.status == "in_queue", T.c.model_id.in_(model_ids)
                )
                if (await tx.conn.execute(queued.limit(1))).first() is None:
                    return None
            await asyncio.sleep(0.005 * attempt)
        return None

    async def wait_for_work(self, timeout_s: float) -> None:
        if self._listener is not None:
            await self._listener.ensure_started()
        hub = self._signals.work
        await hub.wait(seen_for(hub, self._claim_mark), timeout_s)
        mark_seen(hub)

    def _owned(self, request_id: str, worker_id: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            T.c.id == request_id, T.c.worker_id == worker_id, T.c.status == "in_progress"
        )

    async def heartbeat(self, request_id: str, worker_id: str, lease_s: float) -> bool:
        stmt = (
            sa.update(T)
            .where(self._owned(request_id, worker_id))
            .values(lease_until=utcnow() + timedelta(seconds=lease_s))
        )
        return await self._update_count(stmt) == 1

    async def set_progress(self, request_id: str, worker_id: str, progress: dict[str, Any]) -> bool:
        stmt = sa.update(T).where(self._owned(request_id, worker_id)).values(progress=progress)
        return await self._update_count(stmt, event=request_id) == 1

    async def complete(
        self, request_id: str, worker_id: str, outputs: list[str], metadata: dict[str, Any]
    ) -> bool:
        stmt = (
            sa.update(T)
            .where(self._owned(request_id, worker_id))
            .values(
                status="succeeded",
                outputs=list(outputs),
                metadata=metadata,
                error=None,
                finished_at=utcnow(),
                lease_until=None,
            )
        )
        return await self._update_count(stmt, event=request_id) == 1

    async def fail(
        self, request_id: str, worker_id: str, error: str, metadata: dict[str, Any]
    ) -> bool:
        stmt = (
            sa.update(T)
            .where(self._owned(request_id, worker_id))
            .values(
                status="failed",
                error=error,
                metadata=metadata,
                finished_at=utcnow(),
                lease_until=None,
            )
        )
        return await self._update_count(stmt, event=request_id) == 1

    _requeue_values: dict[str, Any] = {  # noqa: RUF012 - read-only
        "status": "in_queue",
        "worker_id": None,
        "lease_until": None,
        "progress": None,
    }

    async def release(self, request_id: str, worker_id: str) -> bool:
        """Back to the queue, first in line again (created_at is kept); attempts stay as they
        are, so a hand-back counts as a started attempt (the contract in base.py)."""
        async with self._write() as tx:
            res = await tx.conn.execute(
                sa.update(T)
                .where(self._owned(request_id, worker_id))
                .values(**self._requeue_values)
                .returning(T.c.id, T.c.model_id)
            )
            row = res.first()
            if row is None:
                return False
            tx.work(row.model_id)
            tx.event(row.id)
            return True

    async def release_worker(self, worker_id: str, max_attempts: int | None = None) -> int:
        """Also: with `max_attempts`, rows already started that many times fail ("worker lost
        N times") instead, so a request that kills its worker cannot loop forever."""
        held = sa.and_(T.c.worker_id == worker_id, T.c.status == "in_progress")
        return await self._requeue_or_fail(held, max_attempts)

    async def reap_expired_leases(self, max_attempts: int) -> int:
        expired = sa.and_(T.c.status == "in_progress", T.c.lease_until < _at(utcnow()))
        return await self._requeue_or_fail(expired, max_attempts)

    async def _requeue_or_fail(
        self, where: sa.ColumnElement[bool], max_attempts: int | None
    ) -> int:
        async with self._write() as tx:
            failed: Sequence[sa.Row[Any]] = []
            if max_attempts is not None:
                lost = (
                    sa.literal("worker lost ")
                    + sa.cast(T.c.attempts, sa.String)
                    + sa.literal(" times")
                )
                failed = (
                    await tx.conn.execute(
                        sa.update(T)
                        .where(where, T.c.attempts >= max_attempts)
                        .values(
                            status="failed",
                            error=lost,
                            finished_at=utcnow(),
                            lease_until=None,
                        )
                        .returning(T.c.id)
                    )
                ).all()
            requeued = (
                await tx.conn.execute(
                    sa.update(T)
                    .where(where)
                    .values(**self._requeue_values)
                    .returning(T.c.id, T.c.model_id)
                )
            ).all()
            for r in failed:
                tx.event(r.id)
            for r in requeued:
                tx.event(r.id)
            if requeued:
                tx.work()
            return len(failed) + len(requeued)

    async def worker_beat(self, worker_id: str, info: dict[str, Any]) -> None:
        now = utcnow()
        ins = pg_dialect.insert if self.is_postgres else sqlite_dialect.insert
        stmt = ins(workers).values(id=worker_id, info=info, first_seen=now, last_seen=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[workers.c.id],
            set_={"info": stmt.excluded.info, "last_seen": stmt.excluded.last_seen},
        )
        async with self._write() as tx:
            await tx.conn.execute(stmt)

    async def live_workers(self, within_s: float) -> list[dict[str, Any]]:
        """[{worker_id, info, first_seen, last_seen}] for workers seen within `within_s`."""
        since = utcnow() - timedelta(seconds=within_s)
        rows = await self._all(
            sa.select(workers).where(workers.c.last_seen >= since).order_by(workers.c.id)
        )
        return [
            {
                "worker_id": r.id,
                "info": r.info or {},
                "first_seen": r.first_seen,
                "last_seen": r.last_seen,
            }
            for r in rows
        ]

    # retention, limits, metrics --------------------------------------------------------------
    async def finished_before(self, cutoff: datetime, limit: int = 100) -> list[RequestRow]:
        stmt = (
            sa.select(T)
            .where(
                T.c.status.in_(sorted(FINISHED)),
                T.c.expired.is_(False),
                T.c.finished_at < cutoff,
            )
            .order_by(T.c.finished_at, T.c.seq)
            .limit(limit)
        )
        return [_request(r) for r in await self._all(stmt)]

    async def mark_expired(self, request_id: str) -> None:
        await self._update_count(
            sa.update(T).where(T.c.id == request_id).values(expired=True), event=request_id
        )

    async def count_recent(self, owner: str, since: datetime) -> int:
        stmt = sa.select(sa.func.count()).where(T.c.owner == owner, T.c.created_at >= since)
        async with self._read() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def count_queued(self, owner: str) -> int:
        stmt = sa.select(sa.func.count()).where(T.c.owner == owner, T.c.status == "in_queue")
        async with self._read() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def counts_by_status(self) -> dict[tuple[str, str], int]:
        rows = await self._all(
            sa.select(T.c.model_id, T.c.status, sa.func.count()).group_by(T.c.model_id, T.c.status)
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}

    async def update_extra(self, request_id: str, extra: dict[str, Any]) -> None:
        """Merges `extra` into the row's extra (top-level keys replaced), atomically."""
        async with self._write() as tx:
            sel = sa.select(T.c.extra).where(T.c.id == request_id)
            if self.is_postgres:
                sel = sel.with_for_update()
            current = (await tx.conn.execute(sel)).scalar_one_or_none()
            if current is None:  # no such request (extra itself is never NULL)
                return
            merged = {**current, **extra}
            await tx.conn.execute(sa.update(T).where(T.c.id == request_id).values(extra=merged))

    # keys and uploads ------------------------------------------------------------------------
    async def create_key(self, name: str, token_hash: str) -> ApiKey:
        key = ApiKey(id=new_key_id(), name=name, token_hash=token_hash, created_at=utcnow())
        async with self._write() as tx:
            await tx.conn.execute(
                sa.insert(api_keys).values(
                    id=key.id, name=name, token_hash=token_hash, created_at=key.created_at
                )
            )
        return key

    async def key_by_hash(self, token_hash: str) -> ApiKey | None:
        """Also: an active key found here is remembered for KEY_CACHE_S (every API call asks);
        unknown hashes are never remembered, and any key change through this store forgets
        everything at once."""
        now = time.monotonic()
        hit = self._keys.get(token_hash)
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._keys_generation
        row = await self._one(_KEY_BY_HASH, {"token_hash": token_hash})
        if row is None:
            self._keys.pop(token_hash, None)
            return None
        key = _key(row)
        # A revocation that committed while this lookup was in flight must not be undone by it.
        if generation == self._keys_generation:
            if len(self._keys) >= _KEY_CACHE_MAX:
                self._keys.clear()
            self._keys[token_hash] = (now + KEY_CACHE_S, key)
        return key

    def _forget_keys(self) -> None:
        self._keys_generation += 1
        self._keys.clear()

    async def list_keys(self) -> list[ApiKey]:
        rows = await self._all(sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id))
        return [_key(r) for r in rows]

    async def revoke_key(self, key_id_or_name: str) -> bool:
        """Revokes the key with this id, or every active key with this name."""
        stmt = (
            sa.update(api_keys)
            .where(
                sa.or_(api_keys.c.id == key_id_or_name, api_keys.c.name == key_id_or_name),
                api_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        self._forget_keys()  # before and after: no lookup racing the update re-caches the key
        try:
            return await self._update_count(stmt) > 0
        finally:
            self._forget_keys()

    async def set_webhook_secret(self, key_id: str, secret: str) -> None:
        await self._update_count(
            sa.update(api_keys).where(api_keys.c.id == key_id).values(webhook_secret=secret)
        )
        self._forget_keys()

    async def get_key(self, key_id: str) -> ApiKey | None:
        row = await self._one(sa.select(api_keys).where(api_keys.c.id == key_id))
        return _key(row) if row else None

    async def ensure_webhook_secret(self, key_id: str, candidate: str) -> str:
        async with self._write() as tx:
            await tx.conn.execute(
                sa.update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.webhook_secret.is_(None))
                .values(webhook_secret=candidate)
            )
            stored = (
                await tx.conn.execute(
                    sa.select(api_keys.c.webhook_secret).where(api_keys.c.id == key_id)
                )
            ).scalar_one_or_none()
        self._forget_keys()
        if stored is None:
            raise KeyError(key_id)
        return str(stored)

    # webhook delivery --------------------------------------------------------------------------
    def _webhook_free(self, now: datetime) -> sa.ColumnElement[bool]:
        return sa.or_(T.c.webhook_lease_until.is_(None), T.c.webhook_lease_until < _at(now))

    async def due_webhooks(self, now: datetime, limit: int = 50) -> list[str]:
        rows = await self._all(
            sa.select(T.c.id)
            .where(T.c.webhook_due_at <= _at(now), self._webhook_free(now))
            .order_by(T.c.webhook_due_at)
            .limit(limit)
        )
        return [r.id for r in rows]

    async def lease_webhook(self, request_id: str, lease_s: float) -> RequestRow | None:
        now = utcnow()
        async with self._write() as tx:
            row = (
                await tx.conn.execute(
                    sa.update(T)
                    .where(
                        T.c.id == request_id,
                        T.c.webhook_due_at.is_not(None),
                        self._webhook_free(now),
                    )
                    .values(webhook_lease_until=now + timedelta(seconds=lease_s))
                    .returning(*T.c)
                )
            ).first()
            return _request(row) if row else None

    async def save_webhook(
        self, request_id: str, state: dict[str, Any], due_at: datetime | None
    ) -> None:
        async with self._write() as tx:
            sel = sa.select(T.c.extra).where(T.c.id == request_id)
            if self.is_postgres:
                sel = sel.with_for_update()
            current = (await tx.conn.execute(sel)).scalar_one_or_none()
            if current is None:
                return
            await tx.conn.execute(
                sa.update(T)
                .where(T.c.id == request_id)
                .values(
                    extra={**current, "webhook": state},
                    webhook_due_at=due_at,
                    webhook_lease_until=None,
                )
            )

    async def add_file(self, f: UploadedFile) -> None:
        async with self._write() as tx:
            await tx.conn.execute(
                sa.insert(files).values(
                    id=f.id,
                    owner=f.owner,
                    blob_key=f.blob_key,
                    content_type=f.content_type,
                    size=f.size,
                    created_at=f.created_at,
                    expires_at=f.expires_at,
                )
            )

    async def get_file(self, file_id: str, owner: str) -> UploadedFile | None:
        row = await self._one(sa.select(files).where(files.c.id == file_id, files.c.owner == owner))
        return _file(row) if row else None

    async def expired_files(self, now: datetime, limit: int = 100) -> list[UploadedFile]:
        rows = await self._all(
            sa.select(files)
            .where(files.c.expires_at < now)
            .order_by(files.c.expires_at, files.c.id)
            .limit(limit)
        )
        return [_file(r) for r in rows]

    async def delete_file(self, file_id: str) -> None:
        await self._update_count(sa.delete(files).where(files.c.id == file_id))

    # change feed -----------------------------------------------------------------------------
    def subscribe(self) -> Subscription:
        """Ids of requests changed by any store on this database (on SQLite: in this process).
        Registered when called; iterate with `async for`, stop with `aclose()` or `async with`.
        PostgreSQL: heard on the LISTEN connection that `start()` opens."""
        return self._signals.events.subscribe(
            self._listener.ensure_started if self._listener else None
        )


def open_store(url: str) -> RequestStore:
    """The store for a database URL (SQLite or PostgreSQL). Call `await store.start()` before
    use (it migrates the schema) and `await store.close()` at the end."""
    return SqlRequestStore(url)
