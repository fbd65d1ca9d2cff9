"""The request table contract. One row per request is the single source of truth and the queue.

Internal statuses: in_queue, in_progress, succeeded, failed, cancelled. The API maps them onto the
protocol's status/result vocabularies.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["in_queue", "in_progress", "succeeded", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


class StoreUnavailable(Exception):
    """The database cannot be reached right now (down, restarting, locked for too long). The API
    answers 503 and the worker backs off; the cause is chained."""


@dataclass
class RequestRow:
    id: str
    owner: str  # the API key id that submitted it
    model_id: str
    status: Status
    input: dict[str, Any]  # the validated input as submitted (defaults applied)
    input_blobs: list[str]  # storage keys of the fetched reference images, in `images` order
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    progress: dict[str, Any] | None = None  # {step, steps, image, images}
    outputs: list[str] | None = None  # storage keys of the output images
    error: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    worker_id: str | None = None
    lease_until: datetime | None = None
    expired: bool = False  # blobs deleted by retention
    idempotency_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # webhook settings, delivery log, ...


@dataclass(frozen=True, slots=True)
class StatusView:
    """What a status answer needs of a request."""

    id: str
    owner: str
    status: Status
    progress: dict[str, Any] | None
    queue_position: int  # in_queue rows a worker takes first; 0 unless in_queue


@dataclass
class ApiKey:
    id: str
    name: str
    token_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    webhook_secret: str | None = None


@dataclass
class UploadedFile:
    id: str
    owner: str
    blob_key: str
    content_type: str
    size: int
    created_at: datetime
    expires_at: datetime


class RequestStore(ABC):
    """One implementation over SQLAlchemy async serves SQLite and PostgreSQL."""

    # lifecycle -------------------------------------------------------------------------------
    @abstractmethod
    async def start(self) -> None:
        """Create/upgrade the schema (alembic) and start listening for notifications."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> bool:
        """True when the database answers."""

    # requests --------------------------------------------------------------------------------
    @abstractmethod
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
        """Inserts an in_queue row and wakes one waiting worker."""

    @abstractmethod
    async def get(self, request_id: str, owner: str | None = None) -> RequestRow | None:
        """None when unknown or (owner given) owned by someone else."""

    @abstractmethod
    async def find_by_idempotency_key(self, owner: str, key: str) -> RequestRow | None: ...

    @abstractmethod
    async def queue_position(self, row: RequestRow) -> int:
        """How many in_queue rows (for the same models) were created before this one."""

    @abstractmethod
    async def status_view(self, request_id: str, owner: str) -> StatusView | None:
        """The status call's read: None when unknown or owned by someone else. The hottest read
        of all; stores answer it on their cheapest path."""

    @abstractmethod
    async def list_for_owner(
        self, owner: str, limit: int = 50, before: str | None = None
    ) -> list[RequestRow]: ...

    @abstractmethod
    async def cancel(self, request_id: str, owner: str) -> tuple[bool, RequestRow | None]:
        """Guarded UPDATE ... WHERE status = 'in_queue'. (cancelled?, row after the call)."""

    # workers ---------------------------------------------------------------------------------
    @abstractmethod
    async def claim(
        self, worker_id: str, model_ids: list[str], lease_s: float
    ) -> RequestRow | None:
        """Atomically moves the oldest in_queue row of these models to in_progress for this
        worker (attempts + 1, started_at set on first start, lease_until = now + lease_s)."""

    @abstractmethod
    async def wait_for_work(self, timeout_s: float) -> None:
        """Returns when a request may be claimable (insert, release) or on timeout. Event-driven:
        LISTEN/NOTIFY on PostgreSQL, an in-process event on SQLite (plus the timeout as a
        fallback for other processes)."""

    @abstractmethod
    async def heartbeat(self, request_id: str, worker_id: str, lease_s: float) -> bool:
        """Extends the lease; False if this worker no longer owns the request."""

    @abstractmethod
    async def set_progress(
        self, request_id: str, worker_id: str, progress: dict[str, Any]
    ) -> bool: ...

    @abstractmethod
    async def complete(
        self, request_id: str, worker_id: str, outputs: list[str], metadata: dict[str, Any]
    ) -> bool:
        """in_progress -> succeeded, guarded by worker_id; False if the worker lost the lease."""

    @abstractmethod
    async def fail(
        self, request_id: str, worker_id: str, error: str, metadata: dict[str, Any]
    ) -> bool: ...

    @abstractmethod
    async def release(self, request_id: str, worker_id: str) -> bool:
        """Hands an in_progress request back to the queue (graceful shutdown); attempts stay."""

    async def release_worker(self, worker_id: str) -> int:
        """Hands every in_progress request held by `worker_id` back to the queue (attempts stay
        counted). A restarted embedded server keeps its worker id, so what it held when it was
        killed runs again at once instead of waiting for the lease to expire."""
        raise NotImplementedError

    @abstractmethod
    async def reap_expired_leases(self, max_attempts: int) -> int:
        """Rows whose lease expired go back to in_queue, or fail ("worker lost N times") once
        attempts >= max_attempts. Returns the number of rows touched."""

    @abstractmethod
    async def worker_beat(self, worker_id: str, info: dict[str, Any]) -> None: ...

    @abstractmethod
    async def live_workers(self, within_s: float) -> list[dict[str, Any]]: ...

    # retention, limits, metrics --------------------------------------------------------------
    @abstractmethod
    async def finished_before(self, cutoff: datetime, limit: int = 100) -> list[RequestRow]:
        """Finished, not yet expired rows whose finished_at < cutoff."""

    @abstractmethod
    async def mark_expired(self, request_id: str) -> None: ...

    @abstractmethod
    async def count_recent(self, owner: str, since: datetime) -> int: ...

    @abstractmethod
    async def count_queued(self, owner: str) -> int: ...

    @abstractmethod
    async def counts_by_status(self) -> dict[tuple[str, str], int]:
        """{(model_id, status): n} for /metrics."""

    @abstractmethod
    async def update_extra(self, request_id: str, extra: dict[str, Any]) -> None: ...

    # keys and uploads ------------------------------------------------------------------------
    @abstractmethod
    async def create_key(self, name: str, token_hash: str) -> ApiKey: ...

    @abstractmethod
    async def key_by_hash(self, token_hash: str) -> ApiKey | None:
        """Active (not revoked) key with this hash."""

    @abstractmethod
    async def list_keys(self) -> list[ApiKey]: ...

    @abstractmethod
    async def revoke_key(self, key_id_or_name: str) -> bool: ...

    @abstractmethod
    async def set_webhook_secret(self, key_id: str, secret: str) -> None: ...

    async def get_key(self, key_id: str) -> ApiKey | None:
        """The key with this id, revoked or not."""
        raise NotImplementedError

    async def ensure_webhook_secret(self, key_id: str, candidate: str) -> str:
        """The key's webhook secret; sets `candidate` first when it has none. Two callers racing
        on a key without a secret both get the one that was stored."""
        raise NotImplementedError

    # webhook delivery ------------------------------------------------------------------------
    # A row inserted with a `webhook` entry in `extra` is armed: delivery loops look at it until
    # `save_webhook` disarms it (due_at None). Leases keep two loops off one row at a time.
    async def due_webhooks(self, now: datetime, limit: int = 50) -> list[str]:
        """Ids of armed rows due at `now` and not leased by a delivery loop."""
        raise NotImplementedError

    async def lease_webhook(self, request_id: str, lease_s: float) -> RequestRow | None:
        """Takes the row for one delivery loop for `lease_s` (whether due or not: a state change
        may be owed); None when the row is not armed or another loop holds it."""
        raise NotImplementedError

    async def save_webhook(
        self, request_id: str, state: dict[str, Any], due_at: datetime | None
    ) -> None:
        """Stores `state` as `extra["webhook"]`, the next time to look (None disarms the row) and
        ends the lease. Sends no change notification: delivery bookkeeping is not a state
        change, and a loop must not wake itself up."""
        raise NotImplementedError

    @abstractmethod
    async def add_file(self, f: UploadedFile) -> None: ...

    @abstractmethod
    async def get_file(self, file_id: str, owner: str) -> UploadedFile | None: ...

    @abstractmethod
    async def expired_files(self, now: datetime, limit: int = 100) -> list[UploadedFile]: ...

    @abstractmethod
    async def delete_file(self, file_id: str) -> None: ...

    # change feed -----------------------------------------------------------------------------
    def subscribe(self) -> AsyncIterator[str]:
        """Ids of requests that changed (claimed, progress, finished, cancelled, requeued), as
        they change; for server-sent events. Registered when called (subscribe, then read the
        row: nothing in between is missed); close it with `aclose()`. A hint, not a log:
        readers re-read the row, and ids may repeat or (when a reader falls far behind) be
        dropped."""
        raise NotImplementedError
